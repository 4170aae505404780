//! The messages of the Metering Service's modelled exceptions, pinned. Each begins with AWS's
//! own phrase (`ErrorKind::aws_phrase`: the live service's where it is known, else the
//! service model's documentation of the exception), so seller code that picks its handling by
//! words of the message reads the mock's as it reads AWS's; the mock's details follow it. The
//! few cases the model's sentence does not describe keep their own words, pinned below too.

mod common;

use common::{secs, with_catalogue, Answer, Mock, NOW};
use serde_json::{json, Value};

fn mock() -> Mock {
    let mut m = Mock::new();
    with_catalogue(&mut m);
    m.add_product(json!({
        "productCode": "box", "dimensions": ["vcpu"], "regions": ["eu-west-1"],
        "customers": [{"customerAWSAccountId": "111122223333"}]
    }));
    m
}

#[track_caller]
fn assert_message(a: &Answer, error: &str, message: &str) {
    assert_eq!((a.status, a.error_name()), (400, error), "{:?}", a.body);
    assert_eq!(a.message(), message);
}

fn meter(dimension: &str, quantity: i64, at: &str) -> Value {
    json!({"ProductCode": "ami", "Timestamp": secs(at), "UsageDimension": dimension, "UsageQuantity": quantity})
}

#[test]
fn meter_usage_messages() {
    let mut m = mock();
    let buyer = |m: &mut Mock, input| m.call_as("111122223333", "us-east-1", "MeterUsage", input);

    let mut unknown = meter("hosts", 1, NOW);
    unknown["ProductCode"] = json!("nope");
    assert_message(
        &buyer(&mut m, unknown),
        "InvalidProductCodeException",
        "The product code passed does not match the product code used for publishing the product: 'nope' is not a product of the namespace 'test' (check the endpoint URL: /ns/<name> selects the namespace)",
    );
    assert_message(
        &buyer(&mut m, meter("cpus", 1, NOW)),
        "InvalidUsageDimensionException",
        "UsageDimension cpus is invalid for ProductCode ami (its dimensions: hosts)",
    );
    let region = m.call_as(
        "111122223333",
        "us-east-1",
        "MeterUsage",
        json!({"ProductCode": "box", "Timestamp": secs(NOW), "UsageDimension": "vcpu", "UsageQuantity": 1}),
    );
    assert_message(
        &region,
        "InvalidEndpointRegionException",
        "The endpoint being called is in a Amazon Web Services Region different from your EC2 instance, ECS task, or EKS pod: product box does not run in us-east-1; call the endpoint of the Region your software runs in (eu-west-1)",
    );
    assert_message(
        &m.call_as("444455556666", "us-east-1", "MeterUsage", meter("hosts", 1, NOW)),
        "CustomerNotEntitledException",
        "The customer does not have a valid subscription for the product: account 444455556666 is not entitled to product ami",
    );
    assert_message(
        &buyer(&mut m, meter("hosts", 1, "2026-03-10T06:00:00Z")),
        "TimestampOutOfBoundsException",
        "The timestamp value passed in the UsageRecord is out of allowed range: Timestamp 2026-03-10T06:00:00Z is more than 21600 seconds before the current time 2026-03-10T12:30:00Z",
    );
    let mut tokened = meter("hosts", 1, NOW);
    tokened["ClientToken"] = json!("t-1");
    assert_eq!(buyer(&mut m, tokened.clone()).status, 200);
    assert_message(
        &buyer(&mut m, meter("hosts", 2, NOW)),
        "DuplicateRequestException",
        "A metering record has already been emitted by the same EC2 instance, ECS task, or EKS pod for the given {usageDimension, timestamp} with a different usageQuantity: dimension 'hosts', hour 2026-03-10T12:00:00Z",
    );
    let mut allocated = meter("hosts", 3, "2026-03-10T11:30:00Z");
    allocated["UsageAllocations"] =
        json!([{"AllocatedUsageQuantity": 1, "Tags": [{"Key": "k", "Value": "v"}]}]);
    assert_message(
        &buyer(&mut m, allocated.clone()),
        "InvalidUsageAllocationsException",
        "Sum of allocated usage quantities is not equal to the usage quantity, or the allocations don't use the same type of quantity (whole number or decimal) as the usage quantity: the allocations in usageAllocations add up to 1, the usage quantity is 3",
    );
    let tags: Vec<Value> = (0..6)
        .map(|i| json!({"Key": format!("k{i}"), "Value": "v"}))
        .collect();
    allocated["UsageAllocations"] = json!([{"AllocatedUsageQuantity": 3, "Tags": tags}]);
    assert_message(
        &buyer(&mut m, allocated),
        "InvalidTagException",
        "The tag is invalid, or the number of tags is greater than 5: allocation 1 in usageAllocations has 6 tags; an allocation's Tags must have 1 to 5",
    );
    tokened["UsageQuantity"] = json!(3);
    assert_message(
        &buyer(&mut m, tokened),
        "IdempotencyConflictException",
        "The ClientToken is being used for multiple requests: 't-1' was already used with different parameters",
    );
}

#[test]
fn batch_meter_usage_messages() {
    let mut m = mock();
    let record = |customer: Value, dimension: &str, at: &str| {
        let mut r = json!({"Dimension": dimension, "Quantity": 1, "Timestamp": secs(at)});
        r.as_object_mut()
            .unwrap()
            .extend(customer.as_object().unwrap().clone());
        r
    };
    let batch = |m: &mut Mock, key: &str, product: &str, records: Vec<Value>| {
        m.call_as(
            key,
            "us-east-1",
            "BatchMeterUsage",
            json!({"ProductCode": product, "UsageRecords": records}),
        )
    };
    let c1 = json!({"CustomerIdentifier": "c1"});
    assert_message(
        &batch(&mut m, "123412341234", "saas", vec![record(c1.clone(), "users", NOW)]),
        "InvalidProductCodeException",
        "The product code passed does not match the product code used for publishing the product: saas is not a product of the calling account 123412341234",
    );
    assert_message(
        &batch(&mut m, "test", "saas", vec![record(c1.clone(), "seats", NOW)]),
        "InvalidUsageDimensionException",
        "UsageDimension seats is invalid for ProductCode saas (at 'usageRecords.1.member'; its dimensions: users, gb)",
    );
    assert_message(
        &batch(&mut m, "test", "saas", vec![record(c1.clone(), "users", "2026-03-09T12:30:00Z")]),
        "TimestampOutOfBoundsException",
        "The timestamp value passed in the UsageRecord is out of allowed range: Timestamp 2026-03-09T12:30:00Z is 86400 seconds or more before the current time 2026-03-10T12:30:00Z (record 'usageRecords.1.member'); no record of this request was processed",
    );
    m.set(json!({"unknownCustomer": "invalid-customer-identifier"}));
    assert_message(
        &batch(&mut m, "test", "saas", vec![record(json!({"CustomerIdentifier": "c9"}), "users", NOW)]),
        "InvalidCustomerIdentifierException",
        "You have metered usage for a CustomerIdentifier that does not exist: the customer at 'usageRecords.1.member' is not a customer of product saas",
    );
    let foreign_license =
        json!({"CustomerAWSAccountId": "111122223333", "LicenseArn": common::LICENSE_3});
    assert_message(
        &batch(&mut m, "test", "ca", vec![record(foreign_license, "requests", NOW)]),
        "InvalidLicenseException",
        &format!(
            "Ensure the LicenseArn is valid, matches the customer, and usage is within the license activation period: LicenseArn '{}' at 'usageRecords.1.member' is not a license of that customer for product ca",
            common::LICENSE_3
        ),
    );
    m.set(json!({"disabledOperations": ["BatchMeterUsage"]}));
    assert_message(
        &batch(&mut m, "test", "saas", vec![record(c1, "users", NOW)]),
        "DisabledApiException",
        "The API is disabled in the Region.",
    );
}

#[test]
fn register_usage_messages() {
    let mut m = mock();
    m.add_product(json!({
        "productCode": "pod", "dimensions": ["vcpu"],
        "customers": [{"customerAWSAccountId": "111122223333"}]
    }));
    let register = |m: &mut Mock, key: &str, region: &str, version: i64| {
        m.call_as(
            key,
            region,
            "RegisterUsage",
            json!({"ProductCode": "pod", "PublicKeyVersion": version}),
        )
    };
    assert_message(
        &register(&mut m, "111122223333", "us-east-1", 7),
        "InvalidPublicKeyVersionException",
        "Public Key version is invalid: 7 is not a version of this namespace's keys; the current version is 1 (GET /_mock/keys lists them)",
    );
    let region = m.call_as(
        "111122223333",
        "us-east-1",
        "RegisterUsage",
        json!({"ProductCode": "box", "PublicKeyVersion": 1}),
    );
    assert_message(
        &region,
        "InvalidRegionException",
        "RegisterUsage must be called in the same Amazon Web Services Region the ECS task was launched in: product box is not offered in us-east-1 (its Regions: eu-west-1)",
    );
    assert_message(
        &register(&mut m, "444455556666", "us-east-1", 1),
        "CustomerNotEntitledException",
        "The customer does not have a valid subscription for the product: account 444455556666 is not entitled to product pod",
    );
    m.set(json!({"containerPlatform": "ec2"}));
    assert_message(
        &register(&mut m, "111122223333", "us-east-1", 1),
        "PlatformNotSupportedException",
        "Amazon Web Services Marketplace does not support metering usage from the underlying platform. Currently, Amazon ECS, Amazon EKS, and Fargate are supported: this namespace's containerPlatform setting says the caller runs on ec2",
    );
}

#[test]
fn resolve_customer_messages() {
    let mut m = mock();
    let resolve = |m: &mut Mock, key: &str, token: &str| {
        m.call_as(
            key,
            "us-east-1",
            "ResolveCustomer",
            json!({ "RegistrationToken": token }),
        )
    };
    // "Registration token is invalid" is what the live service answers (captured).
    assert_message(
        &resolve(&mut m, "test", "garbled"),
        "InvalidTokenException",
        "Registration token is invalid: it was not issued by AWS Marketplace for this endpoint. Pass the x-amzn-marketplace-token form field exactly as posted (URL-decoded).",
    );
    let token = m.mint_token(json!({"productCode": "saas", "customerIdentifier": "c1"}));
    assert_message(
        &resolve(&mut m, "123412341234", &token),
        "InvalidTokenException",
        "Registration token is invalid: account 123412341234 cannot resolve it; only the seller account of the product it was issued for can",
    );
    assert_eq!(resolve(&mut m, "test", &token).status, 200);
    assert_message(
        &resolve(&mut m, "test", &token),
        "ExpiredTokenException",
        "The submitted registration token has expired: it was already resolved (re-submitted); ask the buyer to sign up again from AWS Marketplace",
    );
    let later =
        m.mint_token(json!({"productCode": "saas", "customerIdentifier": "c1", "ttlSeconds": 60}));
    m.control("PUT", "/clock", Some(json!({"offsetSeconds": 120})));
    assert_message(
        &resolve(&mut m, "test", &later),
        "ExpiredTokenException",
        "The submitted registration token has expired: it expired at 2026-03-10T12:31:00Z",
    );
}

#[test]
fn cases_the_models_sentence_does_not_describe_keep_their_own_words() {
    let mut m = mock();
    let batch = |m: &mut Mock, input: Value| m.call("BatchMeterUsage", input);
    let both = json!({"ProductCode": "saas", "UsageRecords": [
        {"CustomerIdentifier": "c1", "CustomerAWSAccountId": "111122223333", "Dimension": "users", "Quantity": 1, "Timestamp": secs(NOW)}
    ]});
    assert_message(
        &batch(&mut m, both),
        "InvalidCustomerIdentifierException",
        "CustomerIdentifier and CustomerAWSAccountId are mutually exclusive ('usageRecords.1.member')",
    );
    let no_product = json!({"UsageRecords": [
        {"CustomerIdentifier": "c1", "Dimension": "users", "Quantity": 1, "Timestamp": secs(NOW)}
    ]});
    assert_message(
        &batch(&mut m, no_product),
        "InvalidProductCodeException",
        "ProductCode is required unless every record has a LicenseArn ('usageRecords.1.member' has none)",
    );
}

#[test]
fn queued_faults_answer_in_aws_words() {
    let mut m = mock();
    for (error, message) in [
        ("ThrottlingException", "Rate exceeded"),
        ("DuplicateRequestException", "A metering record has already been emitted by the same EC2 instance, ECS task, or EKS pod for the given {usageDimension, timestamp} with a different usageQuantity"),
        (
            "InternalServiceErrorException",
            "An internal error has occurred. Retry your request.",
        ),
    ] {
        let queued = m.control(
            "POST",
            "/faults",
            Some(json!({"operation": "MeterUsage", "error": error})),
        );
        assert_eq!(queued.status, 201, "{:?}", queued.body);
        let a = m.call("MeterUsage", meter("hosts", 1, NOW));
        assert_eq!((a.error_name(), a.message()), (error, message));
    }
}

#[test]
fn a_dry_run_answers_dry_run_operation_in_ec2s_words_by_setting() {
    let mut m = mock();
    m.set(json!({"dryRunResponse": "error"}));
    let mut input = meter("hosts", 1, NOW);
    input["DryRun"] = json!(true);
    assert_message(
        &m.call("MeterUsage", input),
        "DryRunOperation",
        "Request would have succeeded, but DryRun flag is set.",
    );
}

#[test]
fn every_phrase_of_the_metering_model_is_its_documentation_or_the_live_services_words() {
    // The model's documentation of each exception, read from the committed service model:
    // a phrase that is not the start of it must be one of the live service's known messages.
    let model: Value = serde_json::from_str(include_str!(
        "../models/meteringmarketplace-2016-01-14.service-2.json"
    ))
    .unwrap();
    // The live service's words, each for its own error.
    let live = [
        ("InvalidTokenException", "Registration token is invalid"),
        (
            "InvalidUsageDimensionException",
            "UsageDimension is invalid for ProductCode",
        ),
        ("ThrottlingException", "Rate exceeded"),
    ];
    for (name, shape) in model["shapes"].as_object().unwrap() {
        if shape.get("exception").is_none() {
            continue;
        }
        let kind = metering_mock::error::ErrorKind::ALL
            .iter()
            .find(|k| k.name() == name)
            .unwrap_or_else(|| panic!("{name} is not an ErrorKind"));
        let phrase = kind.aws_phrase().unwrap();
        let documented = shape["documentation"]
            .as_str()
            .unwrap()
            .replace("<p>", "")
            .replace("</p>", "")
            .replace("<code>", "")
            .replace("</code>", "")
            .to_lowercase();
        let words = phrase.trim_end_matches('.').to_lowercase();
        assert!(
            documented.contains(&words) || live.contains(&(name.as_str(), phrase)),
            "{name}: '{phrase}' is neither in its documentation ('{documented}') nor a known live message"
        );
    }
}
