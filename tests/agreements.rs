//! The buyer's journey through the Agreement Service and Discovery, and the seller's reads,
//! natively: offer → quote → acceptance → entitlements and registration token →
//! ResolveCustomer → BatchMeterUsage by license → agreement reads → cancellation → the final
//! hour → CustomerNotSubscribed. Every answer is held to its model's output shape.

mod common;

use common::agreements::{
    accept, agreement, buy_offer, contract_of, discovery, event_count, requested_terms, set_clock,
    BUYER, SELLER, STRANGER,
};
use common::{at, secs, Answer, Mock};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};

fn world() -> Mock {
    let mut mock = Mock::new();
    mock.add_product(json!({
        "productCode": "saas", "dimensions": ["users", "gb"], "prices": {"users": "0.25"},
        "integration": "concurrent-agreements", "sellerAccountId": SELLER,
    }));
    mock
}

/// Quotes made so far: each quote's client token is new.
static QUOTES: AtomicUsize = AtomicUsize::new(0);

/// The buyer's steps to an agreement: the offer's proposal and terms, a quote, its acceptance.
fn buy(mock: &mut Mock, buyer: &str, cbor: bool) -> String {
    buy_with(mock, buyer, cbor, json!({}))
}

/// `buy`, with `extra` members in the CreateAgreementRequest.
fn buy_with(mock: &mut Mock, buyer: &str, cbor: bool, extra: Value) -> String {
    let offer_id = mock.control("GET", "/products/saas", None).body["offers"][0]["offerId"]
        .as_str()
        .unwrap()
        .to_string();
    let offer = discovery(mock, buyer, "GetOffer", json!({"offerId": offer_id}));
    assert_eq!(offer.status, 200, "{}", offer.body);
    let proposal = offer.body["agreementProposalId"]
        .as_str()
        .unwrap()
        .to_string();
    let terms = discovery(mock, buyer, "GetOfferTerms", json!({"offerId": offer_id}));
    let requested: Vec<Value> = terms.body["offerTerms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| json!({"id": t.as_object().unwrap().values().next().unwrap()["id"]}))
        .collect();
    let mut input = json!({
        "clientToken": format!("quote-{buyer}-{cbor}-{}", QUOTES.fetch_add(1, Ordering::Relaxed)), "intent": "NEW",
        "agreementProposalIdentifier": proposal, "requestedTerms": requested,
    });
    input
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let quote = agreement(mock, buyer, cbor, "CreateAgreementRequest", input);
    assert_eq!(quote.status, 200, "{}", quote.body);
    assert_eq!(quote.body["status"], "APPROVED");
    assert_eq!(quote.body["chargeSummary"]["newAgreementValue"], "0.00");
    let request_id = quote.body["agreementRequestId"]
        .as_str()
        .unwrap()
        .to_string();
    let accepted = agreement(
        mock,
        buyer,
        cbor,
        "AcceptAgreementRequest",
        json!({"agreementRequestId": request_id}),
    );
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    let got = agreement(
        mock,
        buyer,
        cbor,
        "GetAgreementRequest",
        json!({"agreementRequestId": request_id}),
    );
    assert_eq!(got.body["status"], "ACCEPTED");
    assert_eq!(got.body["agreementId"], accepted.body["agreementId"]);
    accepted.body["agreementId"].as_str().unwrap().to_string()
}

fn batch(mock: &mut Mock, account: &str, license: &str, quantity: i64, at: &str) -> Value {
    let answer = mock.call_as(
        SELLER,
        "us-east-1",
        "BatchMeterUsage",
        json!({
            "ProductCode": "saas",
            "UsageRecords": [{"Timestamp": secs(at), "CustomerAWSAccountId": account,
                              "LicenseArn": license, "Dimension": "users", "Quantity": quantity}],
        }),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body["Results"][0].clone()
}

#[test]
fn a_buyer_gets_from_an_offer_to_metered_usage_and_out_again() {
    for cbor in [false, true] {
        let mut mock = world();
        let agreement_id = buy(&mut mock, BUYER, cbor);

        // The buyer's entitlement carries a registration token; the seller resolves it.
        let ents = agreement(
            &mut mock,
            BUYER,
            cbor,
            "GetAgreementEntitlements",
            json!({"agreementId": agreement_id}),
        );
        let entitlement = &ents.body["agreementEntitlements"][0];
        assert_eq!(entitlement["status"], "PROVISIONED", "{}", ents.body);
        let license = entitlement["licenseArn"].as_str().unwrap().to_string();
        assert!(
            license.starts_with(&format!("arn:aws:license-manager::{SELLER}:license:l-")),
            "{license}"
        );
        let token = entitlement["registrationToken"]
            .as_str()
            .unwrap()
            .to_string();
        let resolved = mock.call_as(
            SELLER,
            "us-east-1",
            "ResolveCustomer",
            json!({"RegistrationToken": token}),
        );
        assert_eq!(resolved.status, 200, "{}", resolved.body);
        assert_eq!(resolved.body["LicenseArn"], license.as_str());
        assert_eq!(resolved.body["CustomerAWSAccountId"], BUYER);
        assert_eq!(
            resolved.body["Metadata"]["AgreementId"],
            agreement_id.as_str()
        );
        assert!(resolved.body.get("CustomerIdentifier").is_none());
        // The seller sees the license but gets no token: that is the buyer's to give.
        let seller_view = agreement(
            &mut mock,
            SELLER,
            cbor,
            "GetAgreementEntitlements",
            json!({"agreementId": agreement_id}),
        );
        assert!(seller_view.body["agreementEntitlements"][0]
            .get("registrationToken")
            .is_none());

        assert_eq!(
            batch(&mut mock, BUYER, &license, 3, common::NOW)["Status"],
            "Success"
        );

        // The bill preview prices the license's usage at the agreement's rate card.
        let bill = mock.control("GET", "/bill?month=2026-03", None).body;
        assert_eq!(bill["customers"][0]["licenseArn"], license.as_str());
        assert_eq!(bill["customers"][0]["lines"][0]["unitPrice"], "0.25");
        assert_eq!(bill["charge"], "0.75", "{bill}");

        // The seller's reads.
        let described = agreement(
            &mut mock,
            SELLER,
            cbor,
            "DescribeAgreement",
            json!({"agreementId": agreement_id}),
        );
        assert_eq!(described.body["status"], "ACTIVE");
        assert_eq!(described.body["acceptor"]["accountId"], BUYER);
        assert_eq!(described.body["proposer"]["accountId"], SELLER);
        assert_eq!(described.body["agreementType"], "PurchaseAgreement");
        assert_eq!(described.body["acceptanceTime"], secs(common::NOW));
        let terms = agreement(
            &mut mock,
            SELLER,
            cbor,
            "GetAgreementTerms",
            json!({"agreementId": agreement_id}),
        );
        let usage = term_of(&terms.body["acceptedTerms"], "usageBasedPricingTerm");
        assert_eq!(
            usage["rateCards"][0]["rateCard"][0],
            json!({"dimensionKey": "users", "price": "0.25"})
        );
        let search = agreement(
            &mut mock,
            SELLER,
            cbor,
            "SearchAgreements",
            json!({
                "catalog": "AWSMarketplace",
                "filters": [{"name": "PartyType", "values": ["Proposer"]}, {"name": "AgreementType", "values": ["PurchaseAgreement"]}],
            }),
        );
        let found = &search.body["agreementViewSummaries"];
        assert_eq!(found.as_array().map(Vec::len), Some(1), "{}", search.body);
        assert_eq!(found[0]["entitlements"][0]["licenseArn"], license.as_str());

        // Only the acceptor cancels; the license may be metered for one more hour.
        let refused = agreement(
            &mut mock,
            SELLER,
            cbor,
            "CancelAgreement",
            json!({"agreementId": agreement_id}),
        );
        assert_eq!(
            (refused.status, refused.error_name()),
            (403, "AccessDeniedException")
        );
        let cancelled = agreement(
            &mut mock,
            BUYER,
            cbor,
            "CancelAgreement",
            json!({"agreementId": agreement_id}),
        );
        assert_eq!(cancelled.status, 200, "{}", cancelled.body);
        let again = agreement(
            &mut mock,
            BUYER,
            cbor,
            "CancelAgreement",
            json!({"agreementId": agreement_id}),
        );
        assert_eq!(
            (again.status, again.error_name()),
            (409, "ConflictException")
        );
        let described = agreement(
            &mut mock,
            SELLER,
            cbor,
            "DescribeAgreement",
            json!({"agreementId": agreement_id}),
        );
        assert_eq!(described.body["status"], "CANCELLED");
        let ents = agreement(
            &mut mock,
            BUYER,
            cbor,
            "GetAgreementEntitlements",
            json!({"agreementId": agreement_id}),
        );
        assert_eq!(
            ents.body["agreementEntitlements"][0]["status"],
            "DEPROVISIONED"
        );
        assert!(ents.body["agreementEntitlements"][0]
            .get("registrationToken")
            .is_none());
        // Another hour's usage, recorded in the final hour (not a repeat of the first record).
        let record = batch(&mut mock, BUYER, &license, 5, "2026-03-10T11:30:00Z");
        assert_eq!(record["Status"], "Success");
        mock.host_now = at("2026-03-10T13:31:00Z");
        let late = mock.call_as(SELLER, "us-east-1", "BatchMeterUsage", json!({
            "ProductCode": "saas",
            "UsageRecords": [{"Timestamp": secs("2026-03-10T13:30:00Z"), "CustomerAWSAccountId": BUYER,
                              "LicenseArn": license, "Dimension": "users", "Quantity": 1}],
        }));
        assert_eq!(
            late.body["Results"][0]["Status"], "CustomerNotSubscribed",
            "{}",
            late.body
        );
    }
}

#[test]
fn a_second_agreement_of_the_same_account_is_a_second_customer() {
    let mut mock = world();
    let first = buy(&mut mock, BUYER, false);
    let second = buy(&mut mock, BUYER, true);
    assert_ne!(first, second);
    let customers =
        mock.control("GET", "/products/saas", None).body["product"]["customers"].clone();
    let licenses: Vec<&str> = customers
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["licenseArn"].as_str().unwrap())
        .collect();
    assert_eq!(licenses.len(), 2);
    assert_ne!(licenses[0], licenses[1]);
    let search = agreement(
        &mut mock,
        BUYER,
        false,
        "SearchAgreements",
        json!({
            "filters": [{"name": "PartyType", "values": ["Acceptor"]}, {"name": "AgreementType", "values": ["PurchaseAgreement"]}],
            "maxResults": 1,
        }),
    );
    assert_eq!(
        search.body["agreementViewSummaries"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let token = search.body["nextToken"].as_str().unwrap().to_string();
    let rest = agreement(
        &mut mock,
        BUYER,
        false,
        "SearchAgreements",
        json!({
            "filters": [{"name": "PartyType", "values": ["Acceptor"]}, {"name": "AgreementType", "values": ["PurchaseAgreement"]}],
            "maxResults": 1, "nextToken": token,
        }),
    );
    assert_eq!(
        rest.body["agreementViewSummaries"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "{}",
        rest.body
    );
    assert!(rest.body.get("nextToken").is_none());
}

#[test]
fn a_stranger_sees_no_agreement_it_is_not_party_to() {
    let mut mock = world();
    let id = buy(&mut mock, BUYER, false);
    for op in [
        "DescribeAgreement",
        "GetAgreementTerms",
        "GetAgreementEntitlements",
        "CancelAgreement",
    ] {
        let answer = agreement(&mut mock, STRANGER, false, op, json!({"agreementId": id}));
        assert_eq!(
            (answer.status, answer.error_name()),
            (404, "ResourceNotFoundException"),
            "{op}"
        );
        assert_eq!(answer.body["resourceId"], id.as_str());
    }
    for party in ["Proposer", "Acceptor"] {
        let search = agreement(
            &mut mock,
            STRANGER,
            false,
            "SearchAgreements",
            json!({
                "filters": [{"name": "PartyType", "values": [party]}, {"name": "AgreementType", "values": ["PurchaseAgreement"]}],
            }),
        );
        assert_eq!(search.body["agreementViewSummaries"], json!([]), "{party}");
    }
    // Another namespace does not know the agreement at all, not even to the wildcard caller.
    let mut other = Mock::named("other");
    other.add_product(json!({"productCode": "saas", "dimensions": ["users"], "integration": "concurrent-agreements"}));
    let answer = agreement(
        &mut other,
        "test",
        false,
        "DescribeAgreement",
        json!({"agreementId": id}),
    );
    assert_eq!(answer.error_name(), "ResourceNotFoundException");
}

#[test]
fn quotes_are_checked_against_the_offer() {
    let mut mock = world();
    let offer = mock.control("GET", "/products/saas", None).body["offers"][0].clone();
    let proposal = offer["agreementProposalId"].as_str().unwrap();
    let ids: Vec<Value> = offer["terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| json!({"id": t.as_object().unwrap().values().next().unwrap()["id"]}))
        .collect();
    let cases = [
        (
            json!({"intent": "NEW", "requestedTerms": ids}),
            "MISSING_AGREEMENT_PROPOSAL_IDENTIFIER",
        ),
        (
            json!({"intent": "NEW", "agreementProposalIdentifier": proposal, "requestedTerms": [{"id": "term-nope"}]}),
            "INVALID_REQUESTED_TERM_ID",
        ),
        (
            json!({"intent": "NEW", "agreementProposalIdentifier": proposal, "requestedTerms": ids[..1]}),
            "MISSING_MANDATORY_TERMS",
        ),
        (
            json!({"intent": "AMEND", "agreementProposalIdentifier": proposal, "requestedTerms": ids}),
            "MISSING_SOURCE_AGREEMENT_IDENTIFIER",
        ),
        (
            json!({"intent": "NEW", "sourceAgreementIdentifier": "agmt-1", "agreementProposalIdentifier": proposal, "requestedTerms": ids}),
            "INVALID_SOURCE_AGREEMENT_IDENTIFIER",
        ),
    ];
    for (input, reason) in cases {
        let answer = agreement(&mut mock, BUYER, false, "CreateAgreementRequest", input);
        assert_eq!(
            (answer.error_name(), answer.body["reason"].as_str()),
            ("ValidationException", Some(reason)),
            "{}",
            answer.body
        );
    }
    let answer = agreement(
        &mut mock,
        BUYER,
        false,
        "CreateAgreementRequest",
        json!({"intent": "NEW", "agreementProposalIdentifier": "ap-unknown", "requestedTerms": ids}),
    );
    assert_eq!(
        (answer.status, answer.error_name()),
        (404, "ResourceNotFoundException")
    );
    // The same client token is the same quote; a cancelled quote cannot be accepted.
    let input = json!({"clientToken": "once", "intent": "NEW", "agreementProposalIdentifier": proposal, "requestedTerms": ids});
    let first = agreement(
        &mut mock,
        BUYER,
        false,
        "CreateAgreementRequest",
        input.clone(),
    );
    let retry = agreement(&mut mock, BUYER, false, "CreateAgreementRequest", input);
    assert_eq!(
        first.body["agreementRequestId"],
        retry.body["agreementRequestId"]
    );
    let id = first.body["agreementRequestId"].clone();
    let stranger = agreement(
        &mut mock,
        STRANGER,
        false,
        "GetAgreementRequest",
        json!({"agreementRequestId": id}),
    );
    assert_eq!(stranger.error_name(), "ResourceNotFoundException");
    let cancelled = agreement(
        &mut mock,
        BUYER,
        false,
        "CancelAgreementRequest",
        json!({"agreementRequestId": id}),
    );
    assert_eq!(cancelled.body, json!({}));
    let got = agreement(
        &mut mock,
        BUYER,
        false,
        "GetAgreementRequest",
        json!({"agreementRequestId": id}),
    );
    assert_eq!(got.body["status"], "CANCELLED", "{}", got.body);
    let accept = agreement(
        &mut mock,
        BUYER,
        false,
        "AcceptAgreementRequest",
        json!({"agreementRequestId": id}),
    );
    assert_eq!(
        (accept.status, accept.error_name()),
        (409, "ConflictException")
    );
}

fn search(mock: &mut Mock, key: &str, filters: Value, sort: Option<Value>) -> Answer {
    let mut input = json!({ "filters": filters });
    if let Some(sort) = sort {
        input["sort"] = sort;
    }
    agreement(mock, key, false, "SearchAgreements", input)
}

fn filters(party: &str, extra: Value) -> Value {
    let mut list = vec![
        json!({"name": "PartyType", "values": [party]}),
        json!({"name": "AgreementType", "values": ["PurchaseAgreement"]}),
    ];
    for (name, value) in extra.as_object().unwrap() {
        list.push(json!({"name": name, "values": [value]}));
    }
    Value::Array(list)
}

#[test]
fn search_takes_the_filters_the_model_documents() {
    let mut mock = world();
    let cases = [
        (
            json!([{"name": "AgreementType", "values": ["PurchaseAgreement"]}]),
            "MISSING_PARTY_TYPE",
        ),
        (
            json!([{"name": "PartyType", "values": ["Proposer"]}]),
            "INVALID_FILTERS",
        ),
        (
            filters("Proposer", json!({"Colour": "red"})),
            "INVALID_FILTER_NAME",
        ),
        (
            filters("Proposer", json!({"Status": "SLEEPING"})),
            "INVALID_FILTER_VALUES",
        ),
        (
            filters("Proposer", json!({"AfterEndTime": "yesterday"})),
            "INVALID_FILTER_VALUES",
        ),
        // An acceptor may only use the combinations the model lists.
        (
            filters("Acceptor", json!({"OfferId": "a", "OfferSetId": "b"})),
            "UNSUPPORTED_FILTERS",
        ),
        (
            filters("Acceptor", json!({"AcceptorAccountId": BUYER})),
            "UNSUPPORTED_FILTERS",
        ),
    ];
    for (input, reason) in cases {
        let answer = search(&mut mock, SELLER, input, None);
        assert_eq!(answer.body["reason"], reason, "{}", answer.body);
    }
    // A proposer may combine any; StartTime and LastUpdateTime sort a proposer's search only.
    let any = search(
        &mut mock,
        SELLER,
        filters("Proposer", json!({"OfferId": "a", "OfferSetId": "b"})),
        None,
    );
    assert_eq!(any.status, 200, "{}", any.body);
    let by_start = search(
        &mut mock,
        SELLER,
        filters("Proposer", json!({})),
        Some(json!({"sortBy": "StartTime"})),
    );
    assert_eq!(by_start.status, 200, "{}", by_start.body);
    let acceptor = search(
        &mut mock,
        BUYER,
        filters("Acceptor", json!({})),
        Some(json!({"sortBy": "StartTime"})),
    );
    assert_eq!(acceptor.body["reason"], "INVALID_SORT_BY");
}

#[test]
fn search_filters_and_sorts_the_agreements() {
    let mut mock = world();
    let first = buy(&mut mock, BUYER, false);
    mock.host_now = at("2026-03-10T12:45:00Z");
    let second = buy(&mut mock, BUYER, false);
    agreement(
        &mut mock,
        BUYER,
        false,
        "CancelAgreement",
        json!({"agreementId": first}),
    );
    let offer = mock.control("GET", "/products/saas", None).body["offers"][0].clone();
    let ids = |answer: &Answer| -> Vec<String> {
        answer.body["agreementViewSummaries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["agreementId"].as_str().unwrap().to_string())
            .collect()
    };
    let cases = [
        (json!({"Status": "ACTIVE"}), vec![second.clone()]),
        (json!({"Status": "CANCELLED"}), vec![first.clone()]),
        (
            json!({"ResourceIdentifier": "saas", "OfferId": offer["offerId"]}),
            vec![second.clone(), first.clone()],
        ),
        (
            json!({"ResourceIdentifier": offer["productId"]}),
            vec![second.clone(), first.clone()],
        ),
        (json!({"OfferId": "offer-other"}), vec![]),
        (
            json!({"AfterStartTime": "2026-03-10T12:40:00Z"}),
            vec![second.clone()],
        ),
        (
            json!({"BeforeStartTime": "2026-03-10T12:40:00Z"}),
            vec![first.clone()],
        ),
        // Pay-as-you-go agreements never end: after any end, before none.
        (
            json!({"AfterEndTime": "2030-01-01T00:00:00Z"}),
            vec![second.clone(), first.clone()],
        ),
        (json!({"BeforeEndTime": "2030-01-01T00:00:00Z"}), vec![]),
        (
            json!({"InitialAgreementId": first.clone()}),
            vec![first.clone()],
        ),
    ];
    for (extra, expected) in cases {
        let answer = search(
            &mut mock,
            SELLER,
            filters("Proposer", extra.clone()),
            Some(json!({"sortBy": "StartTime"})),
        );
        assert_eq!(ids(&answer), expected, "{extra}: {}", answer.body);
    }
    let ascending = search(
        &mut mock,
        SELLER,
        filters("Proposer", json!({})),
        Some(json!({"sortBy": "StartTime", "sortOrder": "ASCENDING"})),
    );
    assert_eq!(ids(&ascending), [first.clone(), second.clone()]);
    let license =
        ascending.body["agreementViewSummaries"][1]["entitlements"][0]["licenseArn"].clone();
    let by_license = search(
        &mut mock,
        SELLER,
        filters("Proposer", json!({"LicenseArn": license})),
        None,
    );
    assert_eq!(ids(&by_license), [second]);
}

#[test]
fn requests_are_their_requesters_and_a_token_names_one_request() {
    let mut mock = world();
    mock.add_product(json!({"productCode": "other", "dimensions": ["users"], "integration": "concurrent-agreements", "sellerAccountId": SELLER}));
    let offers = |mock: &mut Mock, code: &str| {
        mock.control("GET", &format!("/products/{code}"), None).body["offers"][0].clone()
    };
    let quote = |offer: &Value, token: &str| {
        let terms: Vec<Value> = offer["terms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| json!({"id": t.as_object().unwrap().values().next().unwrap()["id"]}))
            .collect();
        json!({"clientToken": token, "intent": "NEW", "agreementProposalIdentifier": offer["agreementProposalId"], "requestedTerms": terms})
    };
    let (saas, other) = (offers(&mut mock, "saas"), offers(&mut mock, "other"));
    let made = agreement(
        &mut mock,
        BUYER,
        false,
        "CreateAgreementRequest",
        quote(&saas, "t1"),
    );
    let id = made.body["agreementRequestId"].clone();
    // The same token for another offer is a conflict.
    let reused = agreement(
        &mut mock,
        BUYER,
        false,
        "CreateAgreementRequest",
        quote(&other, "t1"),
    );
    assert_eq!(
        (reused.status, reused.error_name()),
        (409, "ConflictException"),
        "{}",
        reused.body
    );
    // A stranger can neither cancel nor accept it; the wildcard caller accepts it for the buyer.
    for op in ["CancelAgreementRequest", "AcceptAgreementRequest"] {
        let answer = agreement(
            &mut mock,
            STRANGER,
            false,
            op,
            json!({"agreementRequestId": id}),
        );
        assert_eq!(answer.error_name(), "ResourceNotFoundException", "{op}");
    }
    let accepted = agreement(
        &mut mock,
        "test",
        false,
        "AcceptAgreementRequest",
        json!({"agreementRequestId": id}),
    );
    let described = agreement(
        &mut mock,
        SELLER,
        false,
        "DescribeAgreement",
        json!({"agreementId": accepted.body["agreementId"]}),
    );
    assert_eq!(described.body["acceptor"]["accountId"], BUYER);
    // A quote whose product no longer uses concurrent agreements cannot be accepted.
    let pending = agreement(
        &mut mock,
        BUYER,
        false,
        "CreateAgreementRequest",
        quote(&other, "t2"),
    );
    mock.add_product(
        json!({"productCode": "other", "dimensions": ["users"], "sellerAccountId": SELLER}),
    );
    let refused = agreement(
        &mut mock,
        BUYER,
        false,
        "AcceptAgreementRequest",
        json!({"agreementRequestId": pending.body["agreementRequestId"]}),
    );
    assert_eq!(
        (refused.status, refused.error_name()),
        (409, "ConflictException"),
        "{}",
        refused.body
    );
}

#[test]
fn customers_listed_with_a_license_are_agreements_with_one_id_everywhere() {
    let mut mock = world();
    let license =
        "arn:aws:license-manager::999988887777:license:l-0123456789abcdef0123456789abcdef";
    let mut product = mock.control("GET", "/products/saas", None).body["product"].clone();
    product["customers"] = json!([{"customerAWSAccountId": BUYER, "licenseArn": license}]);
    mock.add_product(product);
    let search = agreement(
        &mut mock,
        SELLER,
        false,
        "SearchAgreements",
        json!({"filters": [
        {"name": "PartyType", "values": ["Proposer"]}, {"name": "AgreementType", "values": ["PurchaseAgreement"]}]}),
    );
    let id = search.body["agreementViewSummaries"][0]["agreementId"]
        .as_str()
        .unwrap()
        .to_string();
    // A token from GetAgreementEntitlements, and one minted by the control API later, name
    // the same agreement.
    let ents = agreement(
        &mut mock,
        BUYER,
        false,
        "GetAgreementEntitlements",
        json!({"agreementId": id}),
    );
    let token = ents.body["agreementEntitlements"][0]["registrationToken"].clone();
    let resolved = mock.call_as(
        SELLER,
        "us-east-1",
        "ResolveCustomer",
        json!({"RegistrationToken": token}),
    );
    assert_eq!(
        resolved.body["Metadata"]["AgreementId"],
        id.as_str(),
        "{}",
        resolved.body
    );
    let token = mock.mint_token(json!({"productCode": "saas", "licenseArn": license}));
    let resolved = mock.call_as(
        SELLER,
        "us-east-1",
        "ResolveCustomer",
        json!({"RegistrationToken": token}),
    );
    assert_eq!(resolved.body["Metadata"]["AgreementId"], id.as_str());
    let described = agreement(
        &mut mock,
        BUYER,
        false,
        "DescribeAgreement",
        json!({"agreementId": id}),
    );
    assert_eq!(described.body["status"], "ACTIVE");
}

#[test]
fn acceptance_and_cancellation_are_notified_like_a_sign_up_and_an_unsubscribe() {
    let mut mock = world();
    let id = buy(&mut mock, BUYER, false);
    agreement(
        &mut mock,
        BUYER,
        false,
        "CancelAgreement",
        json!({"agreementId": id}),
    );
    let events = mock.control("GET", "/events", None).body["events"].clone();
    let actions: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["subscribe-success", "unsubscribe-pending"],
        "{events}"
    );
    let detail_types: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| {
            e["eventBridge"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["detail-type"].as_str().unwrap())
        })
        .collect();
    assert_eq!(
        detail_types,
        [
            "Purchase Agreement Created - Proposer",
            "License Updated - Manufacturer",
            "Purchase Agreement Ended - Proposer",
            "License Deprovisioned - Manufacturer"
        ]
    );
    assert_eq!(
        events[0]["eventBridge"][0]["detail"]["agreement"]["id"],
        id.as_str()
    );
    let deprovisioned = &events[1]["eventBridge"][1]["detail"];
    assert_eq!(deprovisioned["agreement"]["id"], id.as_str());
    assert!(deprovisioned["license"]["arn"]
        .as_str()
        .unwrap()
        .starts_with("arn:aws:license-manager::"));
    // With `final-hour-end`, the license goes with unsubscribe-success, after the final hour.
    mock.set(json!({"licenseDeprovisionedAt": "final-hour-end"}));
    let second = buy(&mut mock, BUYER, false);
    agreement(
        &mut mock,
        BUYER,
        false,
        "CancelAgreement",
        json!({"agreementId": second}),
    );
    let events = mock.control("GET", "/events?after=2", None).body["events"].clone();
    let cancelled = &events.as_array().unwrap().last().unwrap()["eventBridge"];
    assert_eq!(cancelled.as_array().unwrap().len(), 1, "{cancelled}");
    assert_eq!(
        cancelled[0]["detail-type"],
        "Purchase Agreement Ended - Proposer"
    );
    // The event names the offer the agreement was made on, as DescribeAgreement does.
    let described = agreement(
        &mut mock,
        SELLER,
        false,
        "DescribeAgreement",
        json!({"agreementId": id}),
    );
    let offer = &described.body["proposalSummary"]["offerId"];
    assert_eq!(&events[0]["eventBridge"][0]["detail"]["offer"]["id"], offer);
    assert_eq!(
        events[0]["eventBridge"][0]["detail"]["proposer"]["accountId"],
        SELLER
    );
}

#[test]
fn a_buyer_lists_its_requests_and_reads_their_terms() {
    let mut mock = world();
    let accepted = buy(&mut mock, BUYER, false);
    buy(&mut mock, STRANGER, false);
    let listed = agreement(&mut mock, BUYER, false, "ListAgreementRequests", json!({}));
    let items = listed.body["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1, "{}", listed.body);
    assert_eq!(items[0]["status"], "ACCEPTED");
    assert_eq!(items[0]["agreementId"], accepted.as_str());
    let everyone = agreement(
        &mut mock,
        "test",
        false,
        "ListAgreementRequests",
        json!({"status": "ACCEPTED", "resourceId": "saas"}),
    );
    assert_eq!(everyone.body["items"].as_array().unwrap().len(), 2);
    let none = agreement(
        &mut mock,
        BUYER,
        false,
        "ListAgreementRequests",
        json!({"status": "CANCELLED"}),
    );
    assert_eq!(none.body["items"], json!([]));
    let id = items[0]["agreementRequestId"].clone();
    let terms = agreement(
        &mut mock,
        BUYER,
        false,
        "GetAgreementRequestTerms",
        json!({"agreementRequestId": id}),
    );
    let kinds: Vec<&str> = terms.body["terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_object().unwrap().keys().next().unwrap().as_str())
        .collect();
    assert_eq!(kinds, ["legalTerm", "supportTerm", "usageBasedPricingTerm"]);
    let stranger = agreement(
        &mut mock,
        STRANGER,
        false,
        "GetAgreementRequestTerms",
        json!({"agreementRequestId": id}),
    );
    assert_eq!(stranger.error_name(), "ResourceNotFoundException");
}

#[test]
fn events_take_the_shapes_captured_in_2026_or_the_guides() {
    let mut mock = world();
    let id = buy(&mut mock, BUYER, false);
    agreement(
        &mut mock,
        BUYER,
        false,
        "CancelAgreement",
        json!({"agreementId": id}),
    );
    let events = mock.control("GET", "/events", None).body["events"].clone();
    let (created, license, ended) = (
        &events[0]["eventBridge"][0]["detail"],
        &events[0]["eventBridge"][1]["detail"],
        &events[1]["eventBridge"][0]["detail"],
    );
    assert_eq!(created["agreement"]["endTime"], "9999-01-01T00:00:00Z");
    assert_eq!(
        created["agreement"]["acceptanceTime"],
        "2026-03-10T12:30:00.000Z"
    );
    assert_eq!(created["resaleAuthorization"], json!({"id": null}));
    assert!(created.get("product").is_none() && created.get("license").is_none());
    let product_id =
        mock.control("GET", "/products/saas", None).body["offers"][0]["productId"].clone();
    assert_eq!(
        license["product"],
        json!({"code": "saas", "id": product_id})
    );
    assert!(license["license"]["arn"].is_string());
    assert!(ended.get("offer").is_none(), "{ended}");

    mock.set(json!({"eventShapes": "documented"}));
    let second = buy(&mut mock, BUYER, true);
    agreement(
        &mut mock,
        BUYER,
        false,
        "CancelAgreement",
        json!({"agreementId": second}),
    );
    let events = mock.control("GET", "/events", None).body["events"].clone();
    let (created, ended) = (
        &events[2]["eventBridge"][0]["detail"],
        &events[3]["eventBridge"][0]["detail"],
    );
    assert!(created["agreement"].get("endTime").is_none());
    assert_eq!(
        created["agreement"]["acceptanceTime"],
        "2026-03-10T12:30:00Z"
    );
    assert_eq!(created["resaleAuthorization"], Value::Null);
    assert!(ended["offer"]["id"].is_string());
}

#[test]
fn the_buyer_s_contact_is_read_by_the_parties_while_the_agreement_is_active() {
    let mut mock = world();
    let contact = json!({"firstName": "Ada", "lastName": "Lovelace", "emailAddress": "ada@example.com",
                         "companyName": "Analytical Engines Ltd", "countryCode": "GB"});
    for cbor in [false, true] {
        let id = buy_with(
            &mut mock,
            BUYER,
            cbor,
            json!({ "acceptorContact": contact }),
        );
        let input = json!({ "agreementId": id });
        let with_contact = agreement(
            &mut mock,
            SELLER,
            cbor,
            "SearchAgreements",
            json!({"filters": [
            {"name": "PartyType", "values": ["Proposer"]}, {"name": "AgreementType", "values": ["PurchaseAgreement"]},
            {"name": "IncludesContactOfType", "values": ["ACCEPTOR"]}]}),
        );
        assert!(with_contact.body["agreementViewSummaries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["agreementId"] == id.as_str()));
        for caller in [SELLER, BUYER, "test"] {
            let read = agreement(
                &mut mock,
                caller,
                cbor,
                "GetAgreementContacts",
                input.clone(),
            );
            assert_eq!(read.status, 200, "{}", read.body);
            assert_eq!(read.body, json!({ "acceptorContact": contact }));
        }
        let stranger = agreement(
            &mut mock,
            STRANGER,
            cbor,
            "GetAgreementContacts",
            input.clone(),
        );
        assert_eq!(stranger.status, 404, "{}", stranger.body);
        agreement(&mut mock, BUYER, cbor, "CancelAgreement", input.clone());
        // As documented: an agreement no longer active answers without the contact.
        let after = agreement(&mut mock, SELLER, cbor, "GetAgreementContacts", input);
        assert_eq!((after.status, after.body.clone()), (200, json!({})));
    }
    let without = buy(&mut mock, BUYER, false);
    let read = agreement(
        &mut mock,
        SELLER,
        false,
        "GetAgreementContacts",
        json!({"agreementId": without}),
    );
    assert_eq!(read.body, json!({}));
    // The contact is the customer's, as the control API shows and takes it.
    let customers =
        mock.control("GET", "/products/saas", None).body["product"]["customers"].clone();
    assert_eq!(customers[0]["acceptorContact"], contact);
    let mut bad = customers[0].clone();
    bad["acceptorContact"]["countryCode"] = json!("gb");
    let refused = mock.control(
        "POST",
        "/products",
        Some(json!({"productCode": "other", "dimensions": ["users"], "integration": "concurrent-agreements", "customers": [bad]})),
    );
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused.body.to_string().contains("countryCode"),
        "{}",
        refused.body
    );
}

#[test]
fn purchase_options_list_the_offers_the_filters_select() {
    let mut mock = world();
    mock.add_product(json!({"productCode": "other", "dimensions": ["users"]}));
    let offer = mock.control("GET", "/products/saas", None).body["offers"][0].clone();
    let list = |mock: &mut Mock, filters: Value, more: Value| {
        let mut input = json!({ "filters": filters });
        input
            .as_object_mut()
            .unwrap()
            .extend(more.as_object().unwrap().clone());
        discovery(mock, BUYER, "ListPurchaseOptions", input)
    };
    let by_product = list(
        &mut mock,
        json!([{"filterType": "PRODUCT_ID", "filterValues": [offer["productId"]]}]),
        json!({}),
    );
    assert_eq!(by_product.status, 200, "{}", by_product.body);
    let options = by_product.body["purchaseOptions"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(options.len(), 1);
    assert_eq!(options[0]["purchaseOptionId"], offer["offerId"]);
    assert_eq!(options[0]["purchaseOptionType"], "OFFER");
    assert_eq!(
        options[0]["sellerOfRecord"]["sellerProfileId"],
        format!("seller-{SELLER}")
    );
    assert_eq!(
        options[0]["associatedEntities"][0]["offer"]["offerId"],
        offer["offerId"]
    );
    assert_eq!(
        options[0]["associatedEntities"][0]["product"]["productId"],
        offer["productId"]
    );
    // Every filter type must match, any of its values.
    let both = json!([{"filterType": "PRODUCT_ID", "filterValues": ["saas", "other"]}]);
    assert_eq!(
        list(&mut mock, both.clone(), json!({})).body["purchaseOptions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let mut of_seller = both.clone();
    of_seller.as_array_mut().unwrap().push(json!({"filterType": "SELLER_OF_RECORD_PROFILE_ID", "filterValues": [format!("seller-{SELLER}")]}));
    assert_eq!(
        list(&mut mock, of_seller, json!({})).body["purchaseOptions"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let mut expired = both.clone();
    expired
        .as_array_mut()
        .unwrap()
        .push(json!({"filterType": "AVAILABILITY_STATUS", "filterValues": ["EXPIRED"]}));
    assert_eq!(
        list(&mut mock, expired, json!({})).body["purchaseOptions"],
        json!([])
    );
    // Every offer is public: the private ones visible to the caller are none.
    let private = list(
        &mut mock,
        json!([{"filterType": "VISIBILITY_SCOPE", "filterValues": ["PRIVATE"]}]),
        json!({}),
    );
    assert_eq!(
        (private.status, private.body["purchaseOptions"].clone()),
        (200, json!([]))
    );
    // Pages.
    let first = list(&mut mock, both.clone(), json!({"maxResults": 1}));
    assert_eq!(first.body["purchaseOptions"].as_array().unwrap().len(), 1);
    let next = first.body["nextToken"].clone();
    let second = list(
        &mut mock,
        both.clone(),
        json!({"maxResults": 1, "nextToken": next}),
    );
    assert_eq!(second.body["purchaseOptions"].as_array().unwrap().len(), 1);
    assert_ne!(
        second.body["purchaseOptions"][0],
        first.body["purchaseOptions"][0]
    );
    assert!(second.body.get("nextToken").is_none());
    // A product or visibility filter is required; values a filter does not take are refused.
    for filters in [
        json!([{"filterType": "AVAILABILITY_STATUS", "filterValues": ["AVAILABLE"]}]),
        json!([{"filterType": "VISIBILITY_SCOPE", "filterValues": ["PUBLIC"]}]),
        json!([{"filterType": "PRODUCT_ID", "filterValues": ["saas"]}, {"filterType": "PURCHASE_OPTION_TYPE", "filterValues": ["BUNDLE"]}]),
    ] {
        let refused = list(&mut mock, filters, json!({}));
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert_eq!(refused.body["reason"], "MALFORMED_REQUEST_PARAMETERS");
    }
    let none = discovery(&mut mock, BUYER, "ListPurchaseOptions", json!({}));
    assert_eq!(none.status, 400, "{}", none.body);
}

#[test]
fn the_control_api_lists_offers_and_agreements_as_the_agreement_service_names_them() {
    let mut mock = world();
    mock.add_product(json!({"productCode": "legacy", "dimensions": ["users"]}));
    let offers = mock.control("GET", "/offers", None).body["offers"].clone();
    let codes: Vec<&str> = offers
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["productCode"].as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 2);
    assert!(codes.contains(&"saas") && codes.contains(&"legacy"));
    let saas = offers
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["productCode"] == "saas")
        .unwrap();
    let one = mock.control("GET", "/products/saas", None).body["offers"][0].clone();
    assert_eq!(saas["offerId"], one["offerId"]);

    let active = buy(&mut mock, BUYER, false);
    let cancelled = buy(&mut mock, STRANGER, true);
    agreement(
        &mut mock,
        STRANGER,
        true,
        "CancelAgreement",
        json!({"agreementId": cancelled}),
    );
    let listed = mock.control("GET", "/agreements?productCode=saas", None);
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body["count"], 2);
    let by_id = |id: &str| {
        listed.body["agreements"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["agreementId"] == id)
            .unwrap()
            .clone()
    };
    let a = by_id(&active);
    assert_eq!(
        (&a["status"], &a["acceptor"], &a["proposer"], &a["offerId"]),
        (
            &json!("ACTIVE"),
            &json!(BUYER),
            &json!(SELLER),
            &one["offerId"]
        )
    );
    assert_eq!(a["entitlementStatus"], "PROVISIONED");
    // What DescribeAgreement says, the listing says.
    let described = agreement(
        &mut mock,
        "test",
        false,
        "DescribeAgreement",
        json!({"agreementId": cancelled}),
    );
    let c = by_id(&cancelled);
    assert_eq!(c["status"], described.body["status"]);
    assert_eq!(c["entitlementStatus"], "DEPROVISIONED");
    assert_eq!(
        mock.control("GET", "/agreements?productCode=legacy", None)
            .body["count"],
        0
    );
    assert_eq!(
        mock.control("GET", "/agreements?limit=1", None).body["count"],
        1
    );
    assert_eq!(
        mock.control("GET", "/agreements?status=ACTIVE", None)
            .status,
        400
    );
}

/// A contract product: users bought up front for a month or a year, gb metered on top.
fn contract_world() -> Mock {
    let mut mock = Mock::new();
    mock.add_product(json!({
        "productCode": "contract-saas", "dimensions": ["users", "gb"], "prices": {"gb": "0.10"},
        "contract": {"P1M": {"users": "10"}, "P12M": {"users": "100.125"}},
        "integration": "concurrent-agreements", "sellerAccountId": SELLER,
        "webhooks": [{"url": "http://127.0.0.1:9/eb", "format": "eventbridge"}],
    }));
    mock
}

/// The contract offer's proposal and its terms, each requested by id (the contract term with
/// `configuration`, when given).
fn contract_request(mock: &mut Mock, configuration: Option<Value>) -> Value {
    let offer_id =
        mock.control("GET", "/products/contract-saas", None).body["offers"][0]["offerId"].clone();
    let offer = discovery(mock, BUYER, "GetOffer", json!({"offerId": offer_id}));
    let terms = discovery(mock, BUYER, "GetOfferTerms", json!({"offerId": offer_id}));
    let requested = requested_terms(&terms.body["offerTerms"], configuration.as_ref());
    json!({"intent": "NEW", "agreementProposalIdentifier": offer.body["agreementProposalId"],
           "requestedTerms": requested})
}

/// The kind of each term of a list of term unions (`legalTerm`, …), in order.
fn term_kinds(terms: &Value) -> Vec<&str> {
    terms
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_object().unwrap().keys().next().unwrap().as_str())
        .collect()
}

/// The body of the first term of `kind` in a list of term unions.
fn term_of(terms: &Value, kind: &str) -> Value {
    terms
        .as_array()
        .unwrap()
        .iter()
        .find_map(|t| t.get(kind))
        .unwrap()
        .clone()
}

fn users_for_a_year(users: u32) -> Value {
    json!({"configurableUpfrontPricingTermConfiguration": {
        "selectorValue": "P12M", "dimensions": [{"dimensionKey": "users", "dimensionValue": users}]}})
}

#[test]
fn a_contract_offer_is_configured_quoted_charged_and_ends_by_the_clock() {
    for cbor in [false, true] {
        let mut mock = contract_world();
        // The offer: a contract of two durations, and usage on top for gb only.
        let offer_id = mock.control("GET", "/products/contract-saas", None).body["offers"][0]
            ["offerId"]
            .clone();
        let offer = discovery(&mut mock, BUYER, "GetOffer", json!({"offerId": offer_id}));
        assert_eq!(offer.body["pricingModel"]["pricingModelType"], "CONTRACT");
        let terms = discovery(
            &mut mock,
            BUYER,
            "GetOfferTerms",
            json!({"offerId": offer_id}),
        );
        let kinds = term_kinds(&terms.body["offerTerms"]);
        assert_eq!(
            kinds,
            [
                "legalTerm",
                "supportTerm",
                "configurableUpfrontPricingTerm",
                "renewalTerm",
                "usageBasedPricingTerm"
            ]
        );
        let contract = &terms.body["offerTerms"][2]["configurableUpfrontPricingTerm"];
        let selectors: Vec<&Value> = contract["rateCards"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| &c["selector"]["value"])
            .collect();
        assert_eq!(selectors, ["P12M", "P1M"]);
        assert_eq!(
            terms.body["offerTerms"][4]["usageBasedPricingTerm"]["rateCards"][0]["rateCard"][0]
                ["dimensionKey"],
            "gb"
        );

        // A contract term must be configured, within its rate cards.
        for (configuration, reason) in [
            (None, "MISSING_REQUESTED_TERM_CONFIGURATION"),
            (
                Some(
                    json!({"configurableUpfrontPricingTermConfiguration": {"selectorValue": "P24M",
                "dimensions": [{"dimensionKey": "users", "dimensionValue": 1}]}}),
                ),
                "INVALID_REQUESTED_TERM_CONFIGURATION",
            ),
            (
                Some(
                    json!({"configurableUpfrontPricingTermConfiguration": {"selectorValue": "P12M",
                "dimensions": [{"dimensionKey": "gb", "dimensionValue": 1}]}}),
                ),
                "INVALID_REQUESTED_TERM_CONFIGURATION",
            ),
            (
                Some(users_for_a_year(0)),
                "INVALID_REQUESTED_TERM_CONFIGURATION",
            ),
            (
                Some(json!({"renewalTermConfiguration": {"enableAutoRenew": true}})),
                "INVALID_REQUESTED_TERM_CONFIGURATION",
            ),
        ] {
            let input = contract_request(&mut mock, configuration);
            let refused = agreement(&mut mock, BUYER, cbor, "CreateAgreementRequest", input);
            assert_eq!(refused.status, 400, "{}", refused.body);
            assert_eq!(refused.body["reason"], reason, "{}", refused.body);
        }

        // The quote: 3 users for a year at 100.125 each, charged on acceptance.
        let input = contract_request(&mut mock, Some(users_for_a_year(3)));
        let quote = agreement(&mut mock, BUYER, cbor, "CreateAgreementRequest", input);
        assert_eq!(quote.status, 200, "{}", quote.body);
        let summary = &quote.body["chargeSummary"];
        assert_eq!(summary["newAgreementValue"], "300.38");
        assert_eq!(summary["expectedCharges"][0]["timing"], "ON_ACCEPTANCE");
        assert_eq!(
            summary["itemizedCharges"][0],
            json!({"dimensionKey": "users", "newQuantity": 3, "oldQuantity": 0, "incrementalChargeAmount": "300.38"})
        );
        let request_id = quote.body["agreementRequestId"].clone();
        let got = agreement(
            &mut mock,
            BUYER,
            cbor,
            "GetAgreementRequest",
            json!({"agreementRequestId": request_id}),
        );
        assert_eq!(got.body["chargeSummary"], *summary);
        let accepted = agreement(
            &mut mock,
            BUYER,
            cbor,
            "AcceptAgreementRequest",
            json!({"agreementRequestId": request_id}),
        );
        let id = accepted.body["agreementId"].as_str().unwrap().to_string();
        let by_id = json!({"agreementId": id});

        // The agreement ends a year after its acceptance and is worth what was charged.
        let described = agreement(&mut mock, SELLER, cbor, "DescribeAgreement", by_id.clone());
        assert_eq!(described.body["endTime"], secs("2027-03-10T12:30:00Z"));
        assert_eq!(
            described.body["endTimeBehavior"],
            json!({"type": "EXPIRE", "reasonCode": "ACCEPTOR_RENEW_OPTED_OUT"})
        );
        let expiring = agreement(
            &mut mock,
            SELLER,
            cbor,
            "SearchAgreements",
            json!({"filters": [
            {"name": "PartyType", "values": ["Proposer"]}, {"name": "AgreementType", "values": ["PurchaseAgreement"]},
            {"name": "EndTimeBehaviorType", "values": ["EXPIRE"]}]}),
        );
        assert_eq!(
            expiring.body["agreementViewSummaries"][0]["agreementId"],
            id.as_str()
        );
        assert_eq!(
            described.body["estimatedCharges"]["agreementValue"],
            "300.38"
        );
        assert_eq!(described.body["status"], "ACTIVE");
        let accepted_terms = agreement(&mut mock, SELLER, cbor, "GetAgreementTerms", by_id.clone());
        let terms = accepted_terms.body["acceptedTerms"].as_array().unwrap();
        let configured = terms
            .iter()
            .find_map(|t| t.get("configurableUpfrontPricingTerm"))
            .unwrap();
        assert_eq!(
            configured["configuration"],
            json!({"selectorValue": "P12M", "dimensions": [{"dimensionKey": "users", "dimensionValue": 3}]})
        );
        let validity = terms.iter().find_map(|t| t.get("validityTerm")).unwrap();
        assert_eq!(validity["agreementDuration"], "P12M");
        assert_eq!(validity["agreementEndDate"], secs("2027-03-10T12:30:00Z"));

        // The quantities are the license's entitlements until the end.
        let license = agreement(
            &mut mock,
            BUYER,
            cbor,
            "GetAgreementEntitlements",
            by_id.clone(),
        )
        .body["agreementEntitlements"][0]["licenseArn"]
            .as_str()
            .unwrap()
            .to_string();
        let entitled = mock.get_entitlements(
            common::Wire::Json,
            json!({"ProductCode": "contract-saas", "Filter": {"LICENSE_ARN": [license]}}),
        );
        assert_eq!(entitled.status, 200, "{}", entitled.body);
        assert_eq!(entitled.body["Entitlements"][0]["Dimension"], "users");
        assert_eq!(entitled.body["Entitlements"][0]["Value"]["IntegerValue"], 3);

        // The charge, and the buyer's purchase order on it.
        let charges = agreement(
            &mut mock,
            BUYER,
            cbor,
            "ListAgreementCharges",
            json!({"agreementId": id}),
        );
        let charge = charges.body["items"][0].clone();
        assert_eq!(
            (&charge["amount"], &charge["revision"]),
            (&json!("300.38"), &json!(1)),
            "{}",
            charges.body
        );
        let charge_id = charge["id"].clone();
        let order = |reference: &str, revision: i64| {
            json!({"purchaseOrders": [{"chargeId": charge_id, "chargeRevision": revision,
                                        "agreementId": id, "purchaseOrderReference": reference}]})
        };
        let updated = agreement(
            &mut mock,
            BUYER,
            cbor,
            "UpdatePurchaseOrders",
            order("PO-42", 1),
        );
        assert_eq!((updated.status, updated.body.clone()), (200, json!({})));
        let charges = agreement(&mut mock, BUYER, cbor, "ListAgreementCharges", json!({}));
        assert_eq!(charges.body["items"][0]["purchaseOrderReference"], "PO-42");
        let stale = agreement(
            &mut mock,
            BUYER,
            cbor,
            "UpdatePurchaseOrders",
            order("PO-43", 2),
        );
        assert_eq!(stale.status, 409, "{}", stale.body);
        let stranger = agreement(
            &mut mock,
            STRANGER,
            cbor,
            "UpdatePurchaseOrders",
            order("PO-44", 1),
        );
        assert_eq!(stranger.status, 404, "{}", stranger.body);
        let theirs = agreement(&mut mock, STRANGER, cbor, "ListAgreementCharges", json!({}));
        assert_eq!(theirs.body["items"], json!([]));
        let twice = json!({"purchaseOrders": [{"chargeId": charge_id}, {"chargeId": charge_id}]});
        let refused = agreement(&mut mock, BUYER, cbor, "UpdatePurchaseOrders", twice);
        assert_eq!(refused.body["reason"], "DUPLICATE_CHARGES");
        let long = order(&"x".repeat(201), 1);
        let refused = agreement(&mut mock, BUYER, cbor, "UpdatePurchaseOrders", long);
        assert_eq!(refused.body["reason"], "INVALID_PURCHASE_ORDER_REFERENCE");

        // The Created event names the end.
        let events = mock.control("GET", "/events", None).body["events"].clone();
        assert_eq!(
            events[0]["eventBridge"][0]["detail"]["agreement"]["endTime"],
            "2027-03-10T12:30:00.000Z"
        );

        // Metered gb is accepted until a final hour after the end; then the agreement has expired.
        let meter = |mock: &mut Mock, at: &str| {
            mock.host_now = common::at(at);
            mock.call_as(
                SELLER,
                "us-east-1",
                "BatchMeterUsage",
                json!({
                    "ProductCode": "contract-saas",
                    "UsageRecords": [{"Timestamp": secs(at), "CustomerAWSAccountId": BUYER,
                                      "LicenseArn": license, "Dimension": "gb", "Quantity": 1}],
                }),
            )
            .body["Results"][0]["Status"]
                .clone()
        };
        assert_eq!(meter(&mut mock, "2027-03-10T12:00:00Z"), "Success");
        assert_eq!(meter(&mut mock, "2027-03-10T13:00:00Z"), "Success");
        assert_eq!(
            meter(&mut mock, "2027-03-10T13:30:00Z"),
            "CustomerNotSubscribed"
        );
        let described = agreement(&mut mock, SELLER, cbor, "DescribeAgreement", by_id.clone());
        assert_eq!(described.body["status"], "EXPIRED");
        let ents = agreement(
            &mut mock,
            BUYER,
            cbor,
            "GetAgreementEntitlements",
            by_id.clone(),
        );
        assert_eq!(
            ents.body["agreementEntitlements"][0]["status"],
            "DEPROVISIONED"
        );
        let entitled = mock.get_entitlements(
            common::Wire::Json,
            json!({"ProductCode": "contract-saas", "Filter": {"LICENSE_ARN": [license]}}),
        );
        assert_eq!(
            entitled.body["Entitlements"],
            json!([]),
            "{}",
            entitled.body
        );
        let found = agreement(
            &mut mock,
            SELLER,
            cbor,
            "SearchAgreements",
            json!({"filters": [
            {"name": "PartyType", "values": ["Proposer"]}, {"name": "AgreementType", "values": ["PurchaseAgreement"]},
            {"name": "Status", "values": ["EXPIRED"]}]}),
        );
        assert_eq!(
            found.body["agreementViewSummaries"][0]["agreementId"],
            id.as_str()
        );
        assert_eq!(
            found.body["agreementViewSummaries"][0]["endTime"],
            secs("2027-03-10T12:30:00Z")
        );
    }
}

#[test]
fn contract_pricing_and_contract_customers_are_checked() {
    let mut mock = Mock::new();
    for (contract, fragment) in [
        (json!({}), "1-10 durations"),
        (json!({"P13W": {"users": "1"}}), "whole months or years"),
        (json!({"P1M": {}}), "at least one dimension"),
        (json!({"P1M": {"seats": "1"}}), "'seats' is not a dimension"),
        (json!({"P1M": {"users": "lots"}}), "not a price"),
    ] {
        let answer = mock.control(
            "POST",
            "/products",
            Some(json!({"productCode": "c", "dimensions": ["users"], "contract": contract})),
        );
        assert_eq!(answer.status, 400, "{}", answer.body);
        assert!(
            answer.body.to_string().contains(fragment),
            "{fragment}: {}",
            answer.body
        );
    }
    // A customer's contract keeps what it was sold (a duration the offer no longer has is
    // fine), but must name the product's dimensions and well-formed charges.
    let customer = |contract: Value, charges: Value| {
        json!({"customerAWSAccountId": BUYER, "licenseArn": "arn:aws:license-manager::1:license:l-1",
               "contract": contract, "charges": charges})
    };
    let put = |mock: &mut Mock, customer: Value| {
        mock.control(
            "POST",
            "/products",
            Some(json!({"productCode": "c", "dimensions": ["users"], "integration": "concurrent-agreements",
                        "contract": {"P12M": {"users": "1"}}, "customers": [customer]})),
        )
    };
    let sold = json!({"duration": "P24M", "quantities": {"users": 1}});
    let charge =
        json!({"id": "ch-1", "revision": 1, "amount": "12.00", "at": "2026-03-10T12:30:00Z"});
    assert_eq!(
        put(&mut mock, customer(sold.clone(), json!([charge]))).status,
        201
    );
    for (contract, charges, fragment) in [
        (
            json!({"duration": "P24M", "quantities": {"seats": 1}}),
            json!([]),
            "'seats' is not a dimension",
        ),
        (
            json!({"duration": "P012M", "quantities": {"users": 1}}),
            json!([]),
            "P012M",
        ),
        (
            sold.clone(),
            json!([{"id": "ch 1", "revision": 1, "amount": "1.00", "at": "2026-03-10T12:30:00Z"}]),
            "charge id",
        ),
        (
            sold.clone(),
            json!([{"id": "ch-1", "revision": 1, "amount": "1.5", "at": "2026-03-10T12:30:00Z"}]),
            "dollars and cents",
        ),
        (sold.clone(), json!([charge, charge]), "listed twice"),
    ] {
        let answer = put(&mut mock, customer(contract, charges));
        assert_eq!(answer.status, 400, "{fragment}: {}", answer.body);
        assert!(
            answer.body.to_string().contains(fragment),
            "{fragment}: {}",
            answer.body
        );
    }
}

/// A product with a public pay-as-you-go offer and a private contract offer for BUYER.
fn private_world() -> Mock {
    let mut mock = Mock::new();
    mock.add_product(json!({
        "productCode": "saas", "dimensions": ["users", "gb"], "prices": {"users": "0.25", "gb": "0.50"},
        "integration": "concurrent-agreements", "sellerAccountId": SELLER,
        "privateOffers": [{
            "offerId": "offer-acmedeal2026", "name": "Acme's deal", "buyerAccounts": [BUYER],
            "prices": {"gb": "0.20"}, "contract": {"P12M": {"users": "80"}},
            "expiresAt": "2026-06-01T00:00:00Z",
        }],
    }));
    mock
}

#[test]
fn a_private_offer_is_its_buyers_alone_with_its_own_prices_until_it_expires() {
    let mut mock = private_world();
    let offers = mock.control("GET", "/products/saas", None).body["offers"].clone();
    assert_eq!(offers.as_array().unwrap().len(), 2);
    assert_eq!(offers[1]["visibility"], "private");
    assert_eq!(offers[1]["buyerAccounts"], json!([BUYER]));
    let private = offers[1]["offerId"].clone();
    assert_eq!(private, "offer-acmedeal2026");

    // Only its buyer (and the wildcard caller) sees it.
    let by_id = json!({"offerId": private});
    let stranger = discovery(&mut mock, STRANGER, "GetOffer", by_id.clone());
    assert_eq!(stranger.status, 404, "{}", stranger.body);
    let offer = discovery(&mut mock, BUYER, "GetOffer", by_id.clone());
    assert_eq!(offer.status, 200, "{}", offer.body);
    assert_eq!(offer.body["offerName"], "Acme's deal");
    assert_eq!(offer.body["pricingModel"]["pricingModelType"], "CONTRACT");
    assert_eq!(offer.body["expirationTime"], secs("2026-06-01T00:00:00Z"));
    let list = |mock: &mut Mock, key: &str, filters: Value| {
        discovery(
            mock,
            key,
            "ListPurchaseOptions",
            json!({ "filters": filters }),
        )
        .body["purchaseOptions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["purchaseOptionId"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let scope = json!([{"filterType": "VISIBILITY_SCOPE", "filterValues": ["PRIVATE"]}]);
    assert_eq!(
        list(&mut mock, BUYER, scope.clone()),
        ["offer-acmedeal2026"]
    );
    assert!(list(&mut mock, STRANGER, scope.clone()).is_empty());
    let product = json!([{"filterType": "PRODUCT_ID", "filterValues": ["saas"]}]);
    assert_eq!(list(&mut mock, BUYER, product.clone()).len(), 2);
    assert_eq!(list(&mut mock, STRANGER, product.clone()).len(), 1);
    let badged = discovery(
        &mut mock,
        BUYER,
        "ListPurchaseOptions",
        json!({ "filters": scope }),
    );
    assert_eq!(
        badged.body["purchaseOptions"][0]["badges"][0]["badgeType"],
        "PRIVATE_PRICING"
    );

    // Its terms: its own contract and usage prices.
    let terms = discovery(&mut mock, BUYER, "GetOfferTerms", by_id.clone());
    let offered = &terms.body["offerTerms"];
    assert_eq!(
        offered[2]["configurableUpfrontPricingTerm"]["rateCards"][0]["rateCard"][0]["price"],
        "80"
    );
    assert_eq!(
        offered[3]["usageBasedPricingTerm"]["rateCards"][0]["rateCard"][0],
        json!({"dimensionKey": "gb", "displayName": "gb", "unit": "Units", "price": "0.2", "regionalPrices": []})
    );
    let requested = requested_terms(offered, Some(&users_for_a_year(2)));
    let input = json!({"intent": "NEW", "agreementProposalIdentifier": offer.body["agreementProposalId"],
                       "requestedTerms": requested});
    let theirs = agreement(
        &mut mock,
        STRANGER,
        false,
        "CreateAgreementRequest",
        input.clone(),
    );
    assert_eq!(theirs.status, 404, "{}", theirs.body);
    let quote = agreement(
        &mut mock,
        BUYER,
        false,
        "CreateAgreementRequest",
        input.clone(),
    );
    assert_eq!(
        quote.body["chargeSummary"]["newAgreementValue"], "160.00",
        "{}",
        quote.body
    );
    let accepted = agreement(
        &mut mock,
        BUYER,
        false,
        "AcceptAgreementRequest",
        json!({"agreementRequestId": quote.body["agreementRequestId"]}),
    );
    let id = accepted.body["agreementId"].as_str().unwrap().to_string();

    // The agreement names the private offer everywhere, and bills at its prices.
    let described = agreement(
        &mut mock,
        SELLER,
        false,
        "DescribeAgreement",
        json!({"agreementId": id}),
    );
    assert_eq!(described.body["proposalSummary"]["offerId"], private);
    let accepted_terms = agreement(
        &mut mock,
        SELLER,
        false,
        "GetAgreementTerms",
        json!({"agreementId": id}),
    );
    let usage = term_of(
        &accepted_terms.body["acceptedTerms"],
        "usageBasedPricingTerm",
    );
    assert_eq!(
        usage["rateCards"][0]["rateCard"],
        json!([{"dimensionKey": "gb", "price": "0.2"}])
    );
    let events = mock.control("GET", "/events", None).body["events"].clone();
    assert_eq!(
        events[0]["eventBridge"][0]["detail"]["offer"]["id"],
        private
    );
    let message: Value =
        serde_json::from_str(events[0]["sns"]["Message"].as_str().unwrap()).unwrap();
    assert_eq!(message["offer-identifier"], private);
    let license = agreement(
        &mut mock,
        BUYER,
        false,
        "GetAgreementEntitlements",
        json!({"agreementId": id}),
    )
    .body["agreementEntitlements"][0]["licenseArn"]
        .as_str()
        .unwrap()
        .to_string();
    let metered = mock.call_as(SELLER, "us-east-1", "BatchMeterUsage", json!({
        "ProductCode": "saas",
        "UsageRecords": [{"Timestamp": secs("2026-03-10T12:00:00Z"), "CustomerAWSAccountId": BUYER,
                          "LicenseArn": license, "Dimension": "gb", "Quantity": 10}],
    }));
    assert_eq!(
        metered.body["Results"][0]["Status"], "Success",
        "{}",
        metered.body
    );
    let bill = mock.control("GET", "/bill?month=2026-03", None).body;
    assert_eq!(
        bill["customers"][0]["lines"][0]["unitPrice"], "0.2",
        "{bill}"
    );
    // The usage, and the contract's upfront charge made that month.
    assert_eq!(bill["customers"][0]["usageCharge"], "2.00", "{bill}");
    assert_eq!(bill["customers"][0]["charge"], "162.00", "{bill}");

    // After it expires it is listed as expired and can no longer be bought.
    mock.host_now = common::at("2026-06-01T00:00:00Z");
    let expired = json!([{"filterType": "PRODUCT_ID", "filterValues": ["saas"]},
                         {"filterType": "AVAILABILITY_STATUS", "filterValues": ["EXPIRED"]}]);
    assert_eq!(list(&mut mock, BUYER, expired), ["offer-acmedeal2026"]);
    let late = agreement(&mut mock, BUYER, false, "CreateAgreementRequest", input);
    assert_eq!(
        late.body["reason"], "EXPIRED_AGREEMENT_PROPOSAL",
        "{}",
        late.body
    );
}

#[test]
fn private_offers_are_checked() {
    let mut mock = Mock::new();
    let offer = |extra: Value| {
        let mut o = json!({"buyerAccounts": [BUYER]});
        o.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        o
    };
    for (offers, fragment) in [
        (
            json!([offer(json!({"buyerAccounts": []}))]),
            "buyerAccounts",
        ),
        (json!([offer(json!({"offerId": "deal-1"}))]), "offerId"),
        (
            json!([offer(json!({"prices": {"seats": "1"}}))]),
            "'seats' is not a dimension",
        ),
        (
            json!([offer(json!({"contract": {"P0M": {"users": "1"}}}))]),
            "whole months",
        ),
        (json!([offer(json!({})), offer(json!({}))]), "listed twice"),
        (json!([offer(json!({"buyerAccounts": ["12345"]}))]), "12"),
    ] {
        let answer = mock.control(
            "POST",
            "/products",
            Some(json!({"productCode": "p", "dimensions": ["users"], "privateOffers": offers})),
        );
        assert_eq!(answer.status, 400, "{fragment}: {}", answer.body);
        assert!(
            answer.body.to_string().contains(fragment),
            "{fragment}: {}",
            answer.body
        );
    }
}

#[test]
fn a_retried_request_gets_its_first_quote_whatever_the_offer_became() {
    let mut mock = contract_world();
    let mut input = contract_request(&mut mock, Some(users_for_a_year(1)));
    input["clientToken"] = json!("retry-1");
    let first = agreement(
        &mut mock,
        BUYER,
        false,
        "CreateAgreementRequest",
        input.clone(),
    );
    assert_eq!(first.body["chargeSummary"]["newAgreementValue"], "100.13");
    // The seller reprices, dropping the duration the quote is for.
    let mut product = mock.control("GET", "/products/contract-saas", None).body["product"].clone();
    product["contract"] = json!({"P1M": {"users": "10"}});
    assert_eq!(mock.control("POST", "/products", Some(product)).status, 200);
    let again = agreement(
        &mut mock,
        BUYER,
        true,
        "CreateAgreementRequest",
        input.clone(),
    );
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(
        again.body["agreementRequestId"],
        first.body["agreementRequestId"]
    );
    assert_eq!(again.body["chargeSummary"], first.body["chargeSummary"]);
    // The same token with another contact is another request: a conflict.
    input["acceptorContact"] = json!({"firstName": "A", "lastName": "B", "emailAddress": "a@b.co",
                                      "companyName": "C", "countryCode": "GB"});
    let other = agreement(&mut mock, BUYER, false, "CreateAgreementRequest", input);
    assert_eq!(other.status, 409, "{}", other.body);
    // Its terms are the same ones (only their prices changed): acceptance charges the quote.
    let accepted = agreement(
        &mut mock,
        BUYER,
        false,
        "AcceptAgreementRequest",
        json!({"agreementRequestId": first.body["agreementRequestId"]}),
    );
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    let charges = agreement(&mut mock, BUYER, false, "ListAgreementCharges", json!({}));
    assert_eq!(charges.body["items"][0]["amount"], "100.13");
    // A request whose offer has lost a term since cannot be accepted.
    let mut input = contract_request(
        &mut mock,
        Some(
            json!({"configurableUpfrontPricingTermConfiguration": {"selectorValue": "P1M",
            "dimensions": [{"dimensionKey": "users", "dimensionValue": 1}]}}),
        ),
    );
    input["clientToken"] = json!("retry-2");
    let second = agreement(&mut mock, BUYER, false, "CreateAgreementRequest", input);
    let mut product = mock.control("GET", "/products/contract-saas", None).body["product"].clone();
    product.as_object_mut().unwrap().remove("contract");
    assert_eq!(mock.control("POST", "/products", Some(product)).status, 200);
    let refused = agreement(
        &mut mock,
        BUYER,
        false,
        "AcceptAgreementRequest",
        json!({"agreementRequestId": second.body["agreementRequestId"]}),
    );
    assert_eq!(refused.status, 409, "{}", refused.body);
}

/// The actions of the event log after `after`, and each moment's EventBridge detail-types.
fn moments(mock: &mut Mock, after: u64) -> Vec<(String, Vec<String>)> {
    let events = mock
        .control("GET", &format!("/events?after={after}"), None)
        .body["events"]
        .clone();
    events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let kinds = e["eventBridge"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["detail-type"].as_str().unwrap().to_string())
                .collect();
            (e["action"].as_str().unwrap().to_string(), kinds)
        })
        .collect()
}

#[test]
fn an_ending_contract_is_notified_180_to_30_days_before_and_at_its_end() {
    let mut mock = contract_world();
    let input = contract_request(&mut mock, Some(users_for_a_year(1)));
    let quote = agreement(&mut mock, BUYER, false, "CreateAgreementRequest", input);
    let accepted = agreement(
        &mut mock,
        BUYER,
        false,
        "AcceptAgreementRequest",
        json!({"agreementRequestId": quote.body["agreementRequestId"]}),
    );
    let id = accepted.body["agreementId"].as_str().unwrap().to_string();
    let set_clock = |mock: &mut Mock, at: &str| {
        let answer = mock.control("PUT", "/clock", Some(json!({"frozenAt": at})));
        assert_eq!(answer.status, 200, "{}", answer.body);
    };
    // The contract ends 2027-03-10T12:30:00Z: nothing before 180 days ahead of it.
    set_clock(&mut mock, "2026-09-11T12:00:00Z");
    assert!(moments(&mut mock, 1).is_empty());
    set_clock(&mut mock, "2026-09-11T12:30:00Z");
    let ending = "Purchase Agreement Ending - Proposer".to_string();
    assert_eq!(
        moments(&mut mock, 1),
        [("agreement-ending".to_string(), vec![ending.clone()])]
    );
    let events = mock.control("GET", "/events?after=1", None).body["events"].clone();
    let detail = &events[0]["eventBridge"][0]["detail"];
    assert_eq!(detail["agreement"]["id"], id.as_str());
    assert_eq!(detail["agreement"]["daysBeforeEndTime"], 180);
    assert_eq!(detail["agreement"]["endTime"], "2027-03-10T12:30:00.000Z");
    assert_eq!(detail["agreement"]["autoRenewalEnabled"], false);
    assert_eq!(detail["product"]["title"], "contract-saas");
    // No SNS message, so the product's SNS webhooks get nothing.
    assert_eq!(events[0]["sns"], Value::Null);
    // A jump past several notices sends each, in order, once.
    set_clock(&mut mock, "2027-01-20T00:00:00Z");
    set_clock(&mut mock, "2027-01-20T00:00:00Z");
    let days: Vec<Value> = mock.control("GET", "/events?after=2", None).body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventBridge"][0]["detail"]["agreement"]["daysBeforeEndTime"].clone())
        .collect();
    assert_eq!(days, [json!(120), json!(90), json!(60)]);
    // At the end: the 30-day notice, then Ended (EXPIRED) and License Deprovisioned.
    set_clock(&mut mock, "2027-03-10T12:30:00Z");
    let last = moments(&mut mock, 5);
    assert_eq!(last.len(), 2, "{last:?}");
    assert_eq!(
        last[1],
        (
            "agreement-expired".to_string(),
            vec![
                "Purchase Agreement Ended - Proposer".to_string(),
                "License Deprovisioned - Manufacturer".to_string()
            ]
        )
    );
    let events = mock.control("GET", "/events?after=6", None).body["events"].clone();
    assert_eq!(
        events[0]["eventBridge"][0]["detail"]["agreement"]["status"],
        "EXPIRED"
    );
    // Nothing more, however far the clock goes.
    set_clock(&mut mock, "2028-01-01T00:00:00Z");
    assert!(moments(&mut mock, 7).is_empty());
}

#[test]
fn a_cancelled_contract_gets_no_more_notices() {
    let mut mock = contract_world();
    let input = contract_request(&mut mock, Some(users_for_a_year(1)));
    let quote = agreement(&mut mock, BUYER, false, "CreateAgreementRequest", input);
    let accepted = agreement(
        &mut mock,
        BUYER,
        false,
        "AcceptAgreementRequest",
        json!({"agreementRequestId": quote.body["agreementRequestId"]}),
    );
    agreement(
        &mut mock,
        BUYER,
        false,
        "CancelAgreement",
        json!({"agreementId": accepted.body["agreementId"]}),
    );
    let answer = mock.control(
        "PUT",
        "/clock",
        Some(json!({"frozenAt": "2028-01-01T00:00:00Z"})),
    );
    assert_eq!(answer.status, 200);
    assert!(moments(&mut mock, 2).is_empty());
}

#[test]
fn a_customer_listed_by_hand_has_only_its_milestones_still_ahead() {
    let mut mock = contract_world();
    let customer = json!({
        "customerAWSAccountId": BUYER, "licenseArn": "arn:aws:license-manager::1:license:l-1",
        "contract": {"duration": "P12M", "quantities": {"users": 1}},
        "acceptedAt": "2025-03-10T12:30:00Z", "endsAt": "2026-04-01T00:00:00Z",
    });
    let mut product = mock.control("GET", "/products/contract-saas", None).body["product"].clone();
    product["customers"] = json!([customer]);
    // Its 180, 120, 90 and 60-day notices are history when it is listed (2026-03-10): none is sent,
    // not even when the product is put again.
    for _ in 0..2 {
        assert_eq!(
            mock.control("POST", "/products", Some(product.clone()))
                .status,
            200
        );
        let answer = mock.control(
            "PUT",
            "/clock",
            Some(json!({"frozenAt": "2026-03-10T12:30:00Z"})),
        );
        assert_eq!(answer.status, 200);
        assert!(moments(&mut mock, 0).is_empty());
    }
    let listed = mock.control("GET", "/products/contract-saas", None).body["product"]["customers"]
        [0]
    .clone();
    assert_eq!(listed["milestonesNotifiedThrough"], "2026-03-10T12:30:00Z");
    // The 30-day notice (2026-03-02) is history too; the end is ahead.
    let answer = mock.control(
        "PUT",
        "/clock",
        Some(json!({"frozenAt": "2026-04-01T00:00:00Z"})),
    );
    assert_eq!(answer.status, 200);
    let sent = moments(&mut mock, 0);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, "agreement-expired");
}

#[test]
fn a_buyer_taken_off_a_private_offer_cannot_accept_it_and_requests_name_their_offer() {
    let mut mock = private_world();
    let offer = discovery(
        &mut mock,
        BUYER,
        "GetOffer",
        json!({"offerId": "offer-acmedeal2026"}),
    );
    let terms = discovery(
        &mut mock,
        BUYER,
        "GetOfferTerms",
        json!({"offerId": "offer-acmedeal2026"}),
    );
    let requested = requested_terms(&terms.body["offerTerms"], Some(&users_for_a_year(1)));
    let quote = agreement(
        &mut mock,
        BUYER,
        false,
        "CreateAgreementRequest",
        json!({
        "intent": "NEW", "agreementProposalIdentifier": offer.body["agreementProposalId"], "requestedTerms": requested}),
    );
    assert_eq!(quote.status, 200, "{}", quote.body);
    let listed = agreement(&mut mock, BUYER, false, "ListAgreementRequests", json!({}));
    assert_eq!(
        listed.body["items"][0]["proposalSummary"]["offerId"],
        "offer-acmedeal2026"
    );
    let mut product = mock.control("GET", "/products/saas", None).body["product"].clone();
    product["privateOffers"][0]["buyerAccounts"] = json!([STRANGER]);
    assert_eq!(
        mock.control("POST", "/products", Some(product.clone()))
            .status,
        200
    );
    let refused = agreement(
        &mut mock,
        BUYER,
        false,
        "AcceptAgreementRequest",
        json!({"agreementRequestId": quote.body["agreementRequestId"]}),
    );
    assert_eq!(refused.status, 404, "{}", refused.body);
    // A private offer cannot take the public offer's id.
    let public = mock.control("GET", "/products/saas", None).body["offers"][0]["offerId"].clone();
    product["privateOffers"][0]["offerId"] = public;
    let taken = mock.control("POST", "/products", Some(product));
    assert_eq!(taken.status, 400, "{}", taken.body);
    assert!(
        taken.body.to_string().contains("listed twice"),
        "{}",
        taken.body
    );
}

/// A contract product with a private offer for `BUYER` (its own contract prices).
fn renewal_world() -> Mock {
    let mut mock = Mock::new();
    mock.add_product(json!({
        "productCode": "contract-saas", "dimensions": ["users", "gb"], "prices": {"gb": "0.10"},
        "contract": {"P1M": {"users": "10"}, "P12M": {"users": "100.125"}},
        "integration": "concurrent-agreements", "sellerAccountId": SELLER,
        "webhooks": [{"url": "http://127.0.0.1:9/eb", "format": "eventbridge"}],
        "privateOffers": [{"offerId": "offer-acmerenewal01", "buyerAccounts": [BUYER],
                           "contract": {"P12M": {"users": "80"}}}],
    }));
    mock
}

/// Every term of `offer_id` requested: the contract for a year of `users`, the renewal term
/// opted in or not.
fn terms_of_offer(mock: &mut Mock, offer_id: &str, users: u32, renew: bool) -> Vec<Value> {
    let terms = discovery(mock, BUYER, "GetOfferTerms", json!({"offerId": offer_id}));
    terms.body["offerTerms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let (kind, body) = t.as_object().unwrap().iter().next().unwrap();
            match kind.as_str() {
                "configurableUpfrontPricingTerm" => {
                    json!({"id": body["id"], "configuration": users_for_a_year(users)})
                }
                "renewalTerm" => json!({"id": body["id"], "configuration":
                    {"renewalTermConfiguration": {"enableAutoRenew": renew}}}),
                _ => json!({"id": body["id"]}),
            }
        })
        .collect()
}

/// The EventBridge events of the moments after `after`, as (detail-type, detail).
fn event_details(mock: &mut Mock, after: u64) -> Vec<(String, Value)> {
    let events = mock
        .control("GET", &format!("/events?after={after}"), None)
        .body["events"]
        .clone();
    events
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["eventBridge"].as_array().unwrap().clone())
        .map(|b| {
            (
                b["detail-type"].as_str().unwrap().to_string(),
                b["detail"].clone(),
            )
        })
        .collect()
}

#[test]
fn a_contract_is_amended_renewed_and_replaced_keeping_its_license() {
    let mut mock = renewal_world();
    let public = mock.control("GET", "/products/contract-saas", None).body["offers"][0]["offerId"]
        .as_str()
        .unwrap()
        .to_string();
    let requested = terms_of_offer(&mut mock, &public, 3, false);
    let proposal = discovery(&mut mock, BUYER, "GetOffer", json!({"offerId": public})).body
        ["agreementProposalId"]
        .clone();
    let new = json!({"intent": "NEW", "agreementProposalIdentifier": proposal, "requestedTerms": requested});
    let quote = agreement(&mut mock, BUYER, false, "CreateAgreementRequest", new);
    let first = accept(&mut mock, &quote);
    let license =
        mock.control("GET", "/agreements", None).body["agreements"][0]["licenseArn"].clone();
    let described = |mock: &mut Mock, id: &str| {
        agreement(
            mock,
            SELLER,
            true,
            "DescribeAgreement",
            json!({"agreementId": id}),
        )
        .body
    };

    // Amendments: of the caller's active contract, raising quantities, changing something.
    let amend = |mock: &mut Mock, users: u32, renew: bool| {
        let terms = terms_of_offer(mock, &public, users, renew);
        json!({"intent": "AMEND", "sourceAgreementIdentifier": first, "requestedTerms": terms})
    };
    for (input, key, reason) in [
        (
            amend(&mut mock, 2, false),
            BUYER,
            "INVALID_REQUESTED_TERM_CONFIGURATION",
        ),
        (
            amend(&mut mock, 3, false),
            BUYER,
            "INVALID_REQUESTED_TERM_CONFIGURATION",
        ),
        (
            {
                let mut input = amend(&mut mock, 4, false);
                input["acceptorContact"] = json!({"firstName": "A", "lastName": "B",
                    "emailAddress": "a@b.example", "companyName": "C", "countryCode": "US"});
                input
            },
            BUYER,
            "INVALID_ACCEPTOR_CONTACT",
        ),
    ] {
        let refused = agreement(&mut mock, key, false, "CreateAgreementRequest", input);
        assert_eq!(refused.body["reason"], reason, "{}", refused.body);
    }
    let stranger = amend(&mut mock, 4, false);
    let refused = agreement(
        &mut mock,
        STRANGER,
        false,
        "CreateAgreementRequest",
        stranger,
    );
    assert_eq!(refused.error_name(), "ResourceNotFoundException");

    // Half a year in, one more user costs its price for the 183 days left of 365, and the
    // buyer opts in to renewal.
    set_clock(&mut mock, "2026-09-08T12:30:00Z");
    let seq = event_count(&mut mock);
    let input = amend(&mut mock, 4, true);
    let quote = agreement(
        &mut mock,
        BUYER,
        false,
        "CreateAgreementRequest",
        input.clone(),
    );
    let summary = &quote.body["chargeSummary"];
    assert_eq!(
        summary["itemizedCharges"][0],
        json!({"dimensionKey": "users", "newQuantity": 4, "oldQuantity": 3, "incrementalChargeAmount": "50.20"})
    );
    assert_eq!(summary["newAgreementValue"], "350.58");
    // A second amendment asked on the same state conflicts once the first is accepted.
    let stale = agreement(&mut mock, BUYER, false, "CreateAgreementRequest", input);
    assert_eq!(accept(&mut mock, &quote), first);
    let conflict = agreement(
        &mut mock,
        BUYER,
        false,
        "AcceptAgreementRequest",
        json!({"agreementRequestId": stale.body["agreementRequestId"]}),
    );
    assert_eq!(
        conflict.error_name(),
        "ConflictException",
        "{}",
        conflict.body
    );
    let now = described(&mut mock, &first);
    assert_eq!(now["estimatedCharges"]["agreementValue"], "350.58");
    assert_eq!(now["endTimeBehavior"], json!({"type": "RENEW"}));
    assert_eq!(now["endTime"], secs("2027-03-10T12:30:00Z"));
    let terms = agreement(
        &mut mock,
        BUYER,
        false,
        "GetAgreementTerms",
        json!({"agreementId": first}),
    );
    let accepted = &terms.body["acceptedTerms"];
    assert_eq!(
        term_of(accepted, "renewalTerm")["configuration"],
        json!({"enableAutoRenew": true})
    );
    assert_eq!(
        term_of(accepted, "configurableUpfrontPricingTerm")["configuration"]["dimensions"][0]
            ["dimensionValue"],
        4
    );
    let events = event_details(&mut mock, seq);
    let kinds: Vec<&str> = events.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "Purchase Agreement Amended - Proposer",
            "License Updated - Manufacturer"
        ]
    );
    let amended = &events[0].1;
    assert_eq!(amended["agreement"]["intent"], "AMEND");
    assert_eq!(amended["agreement"]["autoRenewalEnabled"], true);
    assert_eq!(amended["renewalSummary"]["tcv"], "400.50");
    assert_eq!(events[1].1["license"]["arn"], license);

    // At its end the contract renews: a new agreement of the same license, charged again.
    let seq = event_count(&mut mock);
    set_clock(&mut mock, "2027-04-01T00:00:00Z");
    let events = event_details(&mut mock, seq);
    let kinds: Vec<&str> = events.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds[kinds.len() - 3..],
        [
            "Purchase Agreement Ended - Proposer",
            "Purchase Agreement Created - Proposer",
            "License Updated - Manufacturer"
        ]
    );
    assert!(kinds.contains(&"Purchase Agreement Ending - Proposer"));
    let n = events.len();
    assert_eq!(
        events[n - 3].1["agreement"],
        json!({"id": first, "status": "RENEWED"})
    );
    let created = &events[n - 2].1["agreement"];
    assert_eq!(
        (&created["intent"], &created["previousAgreementId"]),
        (&json!("RENEW"), &json!(first))
    );
    // It starts at the old end, though the clock jumped past it.
    assert_eq!(created["startTime"], "2027-03-10T12:30:00.000Z");
    let renewed = created["id"].as_str().unwrap().to_string();
    assert_ne!(renewed, first);
    assert_eq!(events[n - 1].1["license"]["arn"], license);
    assert_eq!(described(&mut mock, &first)["status"], "RENEWED");
    let now = described(&mut mock, &renewed);
    assert_eq!(
        (&now["status"], &now["initialAgreementId"], &now["endTime"]),
        (
            &json!("ACTIVE"),
            &json!(first),
            &secs("2028-03-10T12:30:00Z")
        )
    );
    let charges = agreement(
        &mut mock,
        BUYER,
        false,
        "ListAgreementCharges",
        json!({"agreementId": renewed}),
    );
    assert_eq!(charges.body["items"][0]["amount"], "400.50");
    let old = agreement(
        &mut mock,
        BUYER,
        false,
        "ListAgreementCharges",
        json!({"agreementId": first}),
    );
    assert_eq!(
        old.body["items"].as_array().unwrap().len(),
        2,
        "{}",
        old.body
    );
    // The renewed agreement cannot be amended or cancelled any more.
    let refused = agreement(
        &mut mock,
        BUYER,
        false,
        "CancelAgreement",
        json!({"agreementId": first}),
    );
    assert_eq!(refused.error_name(), "ConflictException");

    // A replacement moves the license to the private offer: a new agreement, the old REPLACED.
    let seq = event_count(&mut mock);
    let private_terms = terms_of_offer(&mut mock, "offer-acmerenewal01", 5, false);
    let private = discovery(
        &mut mock,
        BUYER,
        "GetOffer",
        json!({"offerId": "offer-acmerenewal01"}),
    );
    let replace = json!({"intent": "REPLACE", "sourceAgreementIdentifier": renewed,
        "agreementProposalIdentifier": private.body["agreementProposalId"], "requestedTerms": private_terms});
    let quote = agreement(&mut mock, BUYER, false, "CreateAgreementRequest", replace);
    assert_eq!(quote.body["chargeSummary"]["newAgreementValue"], "400.00");
    let replaced = accept(&mut mock, &quote);
    assert_ne!(replaced, renewed);
    assert_eq!(described(&mut mock, &renewed)["status"], "REPLACED");
    let now = described(&mut mock, &replaced);
    assert_eq!(now["initialAgreementId"], json!(first));
    assert_eq!(now["proposalSummary"]["offerId"], "offer-acmerenewal01");
    let events = event_details(&mut mock, seq);
    assert_eq!(
        events[0].1["agreement"],
        json!({"id": renewed, "status": "REPLACED"})
    );
    assert_eq!(events[1].1["agreement"]["intent"], "REPLACE");
    assert_eq!(
        events[1].1["agreement"]["previousAgreementId"],
        json!(renewed)
    );
    assert_eq!(events[2].1["license"]["arn"], license);
    // Still one customer, metered by the same license.
    let agreements = mock.control("GET", "/agreements", None).body["agreements"].clone();
    assert_eq!(agreements.as_array().unwrap().len(), 1, "{agreements}");
    // A search finds the chain's three agreements, each with its status.
    let found = search(
        &mut mock,
        BUYER,
        filters("Acceptor", json!({"ResourceIdentifier": "contract-saas"})),
        None,
    );
    let mut statuses: Vec<String> = found.body["agreementViewSummaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_str().unwrap().to_string())
        .collect();
    statuses.sort();
    assert_eq!(statuses, ["ACTIVE", "RENEWED", "REPLACED"]);
    // The control API lists the requests, newest first, with their intents and charges.
    let requests = mock.control("GET", "/agreement-requests", None).body["requests"].clone();
    let seen: Vec<(&str, &str, &str)> = requests
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["intent"].as_str().unwrap(),
                r["status"].as_str().unwrap(),
                r["charge"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("REPLACE", "ACCEPTED", "400.00"),
            ("AMEND", "APPROVED", "50.20"),
            ("AMEND", "ACCEPTED", "50.20"),
            ("NEW", "ACCEPTED", "300.38")
        ]
    );
    assert_eq!(requests[0]["sourceAgreementId"], json!(renewed));
}

#[test]
fn a_free_trial_offer_grants_its_units_free_until_the_trial_ends() {
    let mut mock = Mock::new();
    mock.add_product(json!({
        "productCode": "saas", "dimensions": ["users", "gb"], "prices": {"users": "0.25", "gb": "0.50"},
        "integration": "concurrent-agreements", "sellerAccountId": SELLER,
        "freeTrial": {"duration": "P30D", "grants": {"users": 5, "gb": null}},
        "webhooks": [{"url": "http://127.0.0.1:9/sns"}, {"url": "http://127.0.0.1:9/eb", "format": "eventbridge"}],
    }));
    // The product lists two public offers: the usual one and the free trial.
    let offers = mock.control("GET", "/products/saas", None).body["offers"].clone();
    assert_eq!(offers.as_array().unwrap().len(), 2, "{offers}");
    let trial_id = offers[1]["offerId"].as_str().unwrap().to_string();
    let offer = discovery(&mut mock, BUYER, "GetOffer", json!({"offerId": trial_id}));
    assert_eq!(offer.body["offerName"], "Free trial of saas");
    // Its id is taken: no private offer may have it.
    let mut taken = mock.control("GET", "/products/saas", None).body["product"].clone();
    taken["privateOffers"] = json!([{"offerId": trial_id, "buyerAccounts": [BUYER]}]);
    let refused = mock.control("POST", "/products", Some(taken));
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused.body["error"]
            .as_str()
            .unwrap()
            .contains("listed twice"),
        "{}",
        refused.body
    );
    let terms = discovery(
        &mut mock,
        BUYER,
        "GetOfferTerms",
        json!({"offerId": trial_id}),
    );
    let trial_term = term_of(&terms.body["offerTerms"], "freeTrialPricingTerm");
    assert_eq!(trial_term["duration"], "P30D");
    assert_eq!(
        trial_term["grants"],
        json!([{"dimensionKey": "gb", "displayName": "gb", "unit": "Units"},
               {"dimensionKey": "users", "displayName": "users", "unit": "Units", "maxQuantity": 5}])
    );
    let proposal = discovery(&mut mock, BUYER, "GetOffer", json!({"offerId": trial_id})).body
        ["agreementProposalId"]
        .clone();
    let requested = requested_terms(&terms.body["offerTerms"], None);
    let input = json!({"intent": "NEW", "agreementProposalIdentifier": proposal, "requestedTerms": requested});
    let quote = agreement(
        &mut mock,
        BUYER,
        false,
        "CreateAgreementRequest",
        input.clone(),
    );
    assert_eq!(quote.body["chargeSummary"]["newAgreementValue"], "0.00");
    // Two requests for the trial: the second is refused once the first is accepted, and so
    // is a new one, or replacing the trial by itself: one trial per account.
    let second = agreement(
        &mut mock,
        BUYER,
        false,
        "CreateAgreementRequest",
        input.clone(),
    );
    let id = accept(&mut mock, &quote);
    let again = agreement(
        &mut mock,
        BUYER,
        false,
        "AcceptAgreementRequest",
        json!({"agreementRequestId": second.body["agreementRequestId"]}),
    );
    assert_eq!(
        again.body["reason"], "INVALID_AGREEMENT_PROPOSAL_IDENTIFIER",
        "{}",
        again.body
    );
    let mut replace = input.clone();
    replace["intent"] = json!("REPLACE");
    replace["sourceAgreementIdentifier"] = json!(id);
    for input in [input, replace] {
        let refused = agreement(&mut mock, BUYER, false, "CreateAgreementRequest", input);
        assert_eq!(
            refused.body["reason"], "INVALID_AGREEMENT_PROPOSAL_IDENTIFIER",
            "{}",
            refused.body
        );
    }
    // Another account may take it.
    let input = json!({"intent": "NEW", "agreementProposalIdentifier": proposal, "requestedTerms": requested});
    let other = agreement(&mut mock, STRANGER, false, "CreateAgreementRequest", input);
    assert_eq!(other.status, 200, "{}", other.body);

    // The agreement names its trial's end; the sign-up message says a trial is present.
    let described = agreement(
        &mut mock,
        SELLER,
        true,
        "DescribeAgreement",
        json!({"agreementId": id}),
    );
    assert_eq!(
        described.body["freeTrialSummary"]["trialEndTime"],
        secs("2026-04-09T12:30:00Z")
    );
    assert_eq!(
        described.body["proposalSummary"]["offerId"],
        trial_id.as_str()
    );
    let events = mock.control("GET", "/events", None).body["events"].clone();
    let message: Value =
        serde_json::from_str(events[0]["sns"]["Message"].as_str().unwrap()).unwrap();
    assert_eq!(message["isFreeTrialTermPresent"], "true");
    assert_eq!(message["offer-identifier"], trial_id.as_str());
    let accepted = agreement(
        &mut mock,
        SELLER,
        false,
        "GetAgreementTerms",
        json!({"agreementId": id}),
    );
    assert_eq!(
        term_of(&accepted.body["acceptedTerms"], "freeTrialPricingTerm")["grants"][1],
        json!({"dimensionKey": "users", "maxQuantity": 5})
    );

    // In the trial's months, gb is free and 5 users are; the rest is priced.
    let listed = mock.control("GET", "/agreements", None).body["agreements"][0].clone();
    let license = listed["licenseArn"].as_str().unwrap().to_string();
    assert_eq!(listed["trialEndsAt"], "2026-04-09T12:30:00Z");
    let meter = |mock: &mut Mock, dimension: &str, quantity: i64, at: &str| {
        let answer = mock.call_as(SELLER, "us-east-1", "BatchMeterUsage", json!({
            "ProductCode": "saas",
            "UsageRecords": [{"Timestamp": secs(at), "CustomerAWSAccountId": BUYER,
                              "LicenseArn": license, "Dimension": dimension, "Quantity": quantity}],
        }));
        assert_eq!(
            answer.body["Results"][0]["Status"], "Success",
            "{}",
            answer.body
        );
    };
    meter(&mut mock, "users", 7, common::NOW);
    meter(&mut mock, "gb", 100, common::NOW);
    let bill = mock.control("GET", "/bill?month=2026-03", None).body;
    assert_eq!(bill["charge"], "0.50", "{bill}");

    // At the trial's end: License Updated (SNS entitlement-updated); usage is priced after.
    let seq = event_count(&mut mock);
    set_clock(&mut mock, "2026-04-09T12:30:00Z");
    assert_eq!(
        moments(&mut mock, seq),
        [(
            "free-trial-ended".to_string(),
            vec!["License Updated - Manufacturer".to_string()]
        )]
    );
    let events = mock
        .control("GET", &format!("/events?after={seq}"), None)
        .body["events"]
        .clone();
    let message: Value =
        serde_json::from_str(events[0]["sns"]["Message"].as_str().unwrap()).unwrap();
    assert_eq!(message["action"], "entitlement-updated");
    let listed = mock.control("GET", "/agreements", None).body["agreements"][0].clone();
    assert_eq!(listed["status"], "ACTIVE");
    set_clock(&mut mock, "2026-05-02T12:00:00Z");
    meter(&mut mock, "gb", 10, "2026-05-02T10:00:00Z");
    let bill = mock.control("GET", "/bill?month=2026-05", None).body;
    assert_eq!(bill["charge"], "5.00", "{bill}");
    // Nothing more happens at later times.
    let seq = event_count(&mut mock);
    set_clock(&mut mock, "2027-01-01T00:00:00Z");
    assert!(moments(&mut mock, seq).is_empty());
}

#[test]
fn free_trials_are_checked() {
    let mut mock = Mock::new();
    for (trial, contract, wrong) in [
        (
            json!({"duration": "P6D", "grants": {"users": 1}}),
            None,
            "duration",
        ),
        (json!({"duration": "P30D", "grants": {}}), None, "grants"),
        (
            json!({"duration": "P30D", "grants": {"cpu": 1}}),
            None,
            "cpu",
        ),
        (
            json!({"duration": "P30D", "grants": {"users": 0}}),
            None,
            "units",
        ),
        (
            json!({"duration": "P91D", "grants": {"users": 1}}),
            Some(json!({"P12M": {"users": "1"}})),
            "duration",
        ),
    ] {
        let mut product = json!({"productCode": "t", "dimensions": ["users"],
            "integration": "concurrent-agreements", "freeTrial": trial});
        if let Some(contract) = contract {
            product["contract"] = contract;
        }
        let answer = mock.control("POST", "/products", Some(product));
        assert_eq!(answer.status, 400, "{wrong}: {}", answer.body);
        assert!(
            answer.body.to_string().contains(wrong),
            "{wrong}: {}",
            answer.body
        );
    }
}

#[test]
fn a_buyer_webhook_gets_the_acceptor_twins_of_the_agreement_events() {
    let mut mock = contract_world();
    let mut product = mock.control("GET", "/products/contract-saas", None).body["product"].clone();
    product["webhooks"] = json!([
        {"url": "http://127.0.0.1:9/seller", "format": "eventbridge"},
        {"url": "http://127.0.0.1:9/buyer", "format": "eventbridge-acceptor"},
    ]);
    assert_eq!(mock.control("POST", "/products", Some(product)).status, 200);
    let input = contract_request(&mut mock, Some(users_for_a_year(1)));
    let quote = agreement(&mut mock, BUYER, false, "CreateAgreementRequest", input);
    let id = accept(&mut mock, &quote);
    let events = mock.control("GET", "/events", None).body["events"].clone();
    let created = &events[0];
    let twins = created["acceptorEvents"].as_array().unwrap();
    assert_eq!(twins.len(), 1, "{created}");
    assert_eq!(
        twins[0]["detail-type"],
        "Purchase Agreement Created - Acceptor"
    );
    assert_eq!(twins[0]["account"], BUYER);
    assert_eq!(twins[0]["detail"]["agreement"]["id"], json!(id));
    assert_ne!(twins[0]["id"], created["eventBridge"][0]["id"]);
    let to = |url: &str| {
        created["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["url"] == url)
            .count()
    };
    // The seller's webhook gets Created and License Updated, the buyer's one event.
    assert_eq!(
        (
            to("http://127.0.0.1:9/seller"),
            to("http://127.0.0.1:9/buyer")
        ),
        (2, 1)
    );
    // The buyer hears of the end 90, 60 and 30 days before, not 180 or 120.
    let seq = event_count(&mut mock);
    set_clock(&mut mock, "2027-02-10T00:00:00Z");
    let days: Vec<Value> = mock
        .control("GET", &format!("/events?after={seq}"), None)
        .body["events"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["acceptorEvents"].as_array().cloned().unwrap_or_default())
        .map(|e| e["detail"]["agreement"]["daysBeforeEndTime"].clone())
        .collect();
    assert_eq!(days, [json!(90), json!(60), json!(30)]);
    // Products refuse an unknown format.
    let mut product = mock.control("GET", "/products/contract-saas", None).body["product"].clone();
    product["webhooks"] = json!([{"url": "http://127.0.0.1:9/x", "format": "eventbridge-buyer"}]);
    assert_eq!(mock.control("POST", "/products", Some(product)).status, 400);
}

#[test]
fn a_contract_taken_with_a_free_trial_starts_and_is_charged_when_the_trial_ends() {
    let mut mock = Mock::new();
    mock.add_product(json!({
        "productCode": "contract-saas", "dimensions": ["users", "gb"], "prices": {"gb": "0.10"},
        "contract": {"P12M": {"users": "100"}},
        "freeTrial": {"duration": "P14D", "grants": {"users": 2}},
        "integration": "concurrent-agreements", "sellerAccountId": SELLER,
    }));
    let offers = mock.control("GET", "/products/contract-saas", None).body["offers"].clone();
    let trial_id = offers[1]["offerId"].as_str().unwrap().to_string();
    let terms = discovery(
        &mut mock,
        BUYER,
        "GetOfferTerms",
        json!({"offerId": trial_id}),
    );
    let kinds = term_kinds(&terms.body["offerTerms"]);
    assert_eq!(
        kinds,
        [
            "legalTerm",
            "supportTerm",
            "freeTrialPricingTerm",
            "configurableUpfrontPricingTerm",
            "usageBasedPricingTerm"
        ]
    );
    let offer = discovery(&mut mock, BUYER, "GetOffer", json!({"offerId": trial_id}));
    assert_eq!(offer.body["pricingModel"]["pricingModelType"], "CONTRACT");
    let requested = requested_terms(&terms.body["offerTerms"], Some(&users_for_a_year(3)));
    let input = json!({"intent": "NEW", "agreementProposalIdentifier": offer.body["agreementProposalId"],
                       "requestedTerms": requested});
    let quote = agreement(&mut mock, BUYER, false, "CreateAgreementRequest", input);
    // The contract is charged when the trial ends, two weeks from now.
    assert_eq!(
        quote.body["chargeSummary"]["expectedCharges"][0],
        json!({"amount": "300.00", "timing": "SCHEDULED", "time": secs("2026-03-24T12:30:00Z")})
    );
    let id = accept(&mut mock, &quote);
    let by_id = json!({"agreementId": id});
    let charges = agreement(
        &mut mock,
        BUYER,
        false,
        "ListAgreementCharges",
        by_id.clone(),
    );
    assert_eq!(charges.body["items"], json!([]));
    let described = agreement(&mut mock, SELLER, false, "DescribeAgreement", by_id.clone());
    assert_eq!(described.body["endTime"], secs("2027-03-24T12:30:00Z"));
    // During the trial the buyer is entitled to its grants.
    let license =
        mock.control("GET", "/agreements", None).body["agreements"][0]["licenseArn"].clone();
    let entitlements = |mock: &mut Mock| {
        let filter = json!({"ProductCode": "contract-saas", "Filter": {"LICENSE_ARN": [license]}});
        mock.get_entitlements(common::Wire::Json, filter).body["Entitlements"].clone()
    };
    let during = entitlements(&mut mock);
    assert_eq!(during[0]["Value"]["IntegerValue"], 2, "{during}");
    // Amended once the contract has started, not during the trial.
    let amend = json!({"intent": "AMEND", "sourceAgreementIdentifier": id,
        "requestedTerms": requested_terms(&terms.body["offerTerms"], Some(&users_for_a_year(4)))});
    for cbor in [false, true] {
        let refused = agreement(
            &mut mock,
            BUYER,
            cbor,
            "CreateAgreementRequest",
            amend.clone(),
        );
        assert_eq!(refused.body["reason"], "INVALID_INTENT", "{}", refused.body);
    }
    assert_eq!(during[0]["ExpirationDate"], secs("2026-03-24T12:30:00Z"));
    // At the trial's end: charged, and entitled to the contract until its end.
    set_clock(&mut mock, "2026-03-24T12:30:00Z");
    let charges = agreement(
        &mut mock,
        BUYER,
        false,
        "ListAgreementCharges",
        by_id.clone(),
    );
    assert_eq!(charges.body["items"][0]["amount"], "300.00");
    assert_eq!(
        charges.body["items"][0]["time"],
        secs("2026-03-24T12:30:00Z")
    );
    let after = entitlements(&mut mock);
    assert_eq!(after[0]["Value"]["IntegerValue"], 3, "{after}");
    assert_eq!(after[0]["ExpirationDate"], secs("2027-03-24T12:30:00Z"));
    let described = agreement(&mut mock, SELLER, false, "DescribeAgreement", by_id);
    assert_eq!(
        described.body["estimatedCharges"]["agreementValue"],
        "300.00"
    );
    // Its whole year is left: one more user costs a year's price, charged now.
    let quote = agreement(&mut mock, BUYER, false, "CreateAgreementRequest", amend);
    assert_eq!(
        quote.body["chargeSummary"]["expectedCharges"][0],
        json!({"amount": "100.00", "timing": "ON_ACCEPTANCE"}),
        "{}",
        quote.body
    );
    assert_eq!(accept(&mut mock, &quote), id);
}

#[test]
fn a_seller_s_cancellation_request_is_approved_rejected_withdrawn_or_approved_after_seven_days() {
    let mut mock = world();
    let first = buy(&mut mock, BUYER, false);
    let send = |mock: &mut Mock, key: &str, id: &str, extra: Value| {
        let mut input = json!({"agreementId": id, "reasonCode": "TEST_AGREEMENT"});
        input
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        agreement(mock, key, true, "SendAgreementCancellationRequest", input)
    };
    // Only the proposer sends one.
    let refused = send(&mut mock, BUYER, &first, json!({}));
    assert_eq!(
        refused.error_name(),
        "AccessDeniedException",
        "{}",
        refused.body
    );
    let sent = send(
        &mut mock,
        SELLER,
        &first,
        json!({"clientToken": "c1", "description": "a test"}),
    );
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert_eq!(sent.body["status"], "PENDING_APPROVAL");
    let acr = sent.body["agreementCancellationRequestId"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(acr.starts_with("acr-"));
    // A retry gets the same request; the token with other members, or a second request
    // while one is pending, conflicts.
    let retried = send(
        &mut mock,
        SELLER,
        &first,
        json!({"clientToken": "c1", "description": "a test"}),
    );
    assert_eq!(retried.body["agreementCancellationRequestId"], json!(acr));
    for extra in [json!({"clientToken": "c1"}), json!({})] {
        let conflict = send(&mut mock, SELLER, &first, extra);
        assert_eq!(
            conflict.error_name(),
            "ConflictException",
            "{}",
            conflict.body
        );
    }
    // Both parties read it; a stranger does not find it.
    let by_id = json!({"agreementId": first, "agreementCancellationRequestId": acr});
    for cbor in [false, true] {
        for (key, found) in [(BUYER, true), (SELLER, true), (STRANGER, false)] {
            let got = agreement(
                &mut mock,
                key,
                cbor,
                "GetAgreementCancellationRequest",
                by_id.clone(),
            );
            match found {
                true => assert_eq!(got.body["reasonCode"], "TEST_AGREEMENT", "{}", got.body),
                false => assert_eq!(got.error_name(), "ResourceNotFoundException"),
            }
        }
    }
    let listed = |mock: &mut Mock, key: &str, party: &str| {
        let list = agreement(
            mock,
            key,
            false,
            "ListAgreementCancellationRequests",
            json!({"partyType": party}),
        );
        list.body["items"].as_array().unwrap().len()
    };
    assert_eq!(
        (
            listed(&mut mock, SELLER, "Proposer"),
            listed(&mut mock, BUYER, "Acceptor"),
            listed(&mut mock, SELLER, "Acceptor")
        ),
        (1, 1, 0)
    );
    // The acceptor rejects it (the proposer may not); then nothing more changes it.
    let mut reject = by_id.clone();
    reject["rejectionReason"] = json!("still in use");
    let refused = agreement(
        &mut mock,
        SELLER,
        false,
        "RejectAgreementCancellationRequest",
        reject.clone(),
    );
    assert_eq!(refused.error_name(), "AccessDeniedException");
    let rejected = agreement(
        &mut mock,
        BUYER,
        true,
        "RejectAgreementCancellationRequest",
        reject.clone(),
    );
    assert_eq!(
        (&rejected.body["status"], &rejected.body["statusMessage"]),
        (&json!("REJECTED"), &json!("still in use"))
    );
    let again = agreement(
        &mut mock,
        BUYER,
        false,
        "RejectAgreementCancellationRequest",
        reject,
    );
    assert_eq!(again.error_name(), "ConflictException");
    // The proposer withdraws a second one.
    let second = send(&mut mock, SELLER, &first, json!({}));
    let withdraw = json!({"agreementId": first, "cancellationReason": "sent by mistake",
        "agreementCancellationRequestId": second.body["agreementCancellationRequestId"]});
    let refused = agreement(
        &mut mock,
        BUYER,
        false,
        "CancelAgreementCancellationRequest",
        withdraw.clone(),
    );
    assert_eq!(refused.error_name(), "AccessDeniedException");
    let withdrawn = agreement(
        &mut mock,
        SELLER,
        true,
        "CancelAgreementCancellationRequest",
        withdraw,
    );
    assert_eq!(withdrawn.body["status"], "CANCELLED", "{}", withdrawn.body);
    assert_eq!(withdrawn.body["statusMessage"], "sent by mistake");
    // A third is approved: the agreement is cancelled, as CancelAgreement does.
    let seq = event_count(&mut mock);
    let third = send(&mut mock, SELLER, &first, json!({}));
    let approve = json!({"agreementId": first, "agreementCancellationRequestId": third.body["agreementCancellationRequestId"]});
    let approved = agreement(
        &mut mock,
        BUYER,
        false,
        "AcceptAgreementCancellationRequest",
        approve,
    );
    assert_eq!(approved.body["status"], "APPROVED", "{}", approved.body);
    let described = agreement(
        &mut mock,
        SELLER,
        false,
        "DescribeAgreement",
        json!({"agreementId": first}),
    );
    assert_eq!(described.body["status"], "CANCELLED");
    let kinds: Vec<String> = event_details(&mut mock, seq)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        kinds,
        [
            "Agreement Cancellation Request Pending Approval - Proposer",
            "Agreement Cancellation Request Approved - Proposer",
            "Purchase Agreement Ended - Proposer",
            "License Deprovisioned - Manufacturer"
        ]
    );
    let events = mock
        .control("GET", &format!("/events?after={seq}"), None)
        .body["events"]
        .clone();
    let event = &events[0]["eventBridge"][0];
    assert_eq!(event["resources"], json!([]));
    assert_eq!(event["detail"]["agreement"]["id"], json!(first));
    assert_eq!(event["detail"]["agreement"]["acceptorId"], BUYER);
    assert_eq!(
        event["detail"]["agreementCancellationRequest"]["reasonCode"],
        "TEST_AGREEMENT"
    );
    // A request the acceptor leaves unanswered is approved after seven days.
    let later = buy(&mut mock, BUYER, false);
    let pending = send(&mut mock, SELLER, &later, json!({}));
    set_clock(&mut mock, "2026-03-17T12:29:59Z");
    let by_id = json!({"agreementId": later, "agreementCancellationRequestId": pending.body["agreementCancellationRequestId"]});
    let got = agreement(
        &mut mock,
        SELLER,
        false,
        "GetAgreementCancellationRequest",
        by_id.clone(),
    );
    assert_eq!(got.body["status"], "PENDING_APPROVAL");
    set_clock(&mut mock, "2026-03-17T12:30:00Z");
    let got = agreement(
        &mut mock,
        SELLER,
        false,
        "GetAgreementCancellationRequest",
        by_id,
    );
    assert_eq!(got.body["status"], "APPROVED", "{}", got.body);
    let described = agreement(
        &mut mock,
        SELLER,
        false,
        "DescribeAgreement",
        json!({"agreementId": later}),
    );
    assert_eq!(described.body["status"], "CANCELLED");
}

#[test]
fn an_automatic_approval_comes_after_the_milestones_before_it_and_not_for_an_ended_agreement() {
    let mut mock = Mock::new();
    mock.add_product(json!({
        "productCode": "saas", "dimensions": ["users"], "prices": {"users": "0.25"},
        "integration": "concurrent-agreements", "sellerAccountId": SELLER,
        "freeTrial": {"duration": "P14D", "grants": {"users": 5}},
    }));
    let trial = mock.control("GET", "/products/saas", None).body["offers"][1].clone();
    let terms: Vec<Value> = trial["terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| json!({"id": t.as_object().unwrap().values().next().unwrap()["id"]}))
        .collect();
    let input = json!({"intent": "NEW", "agreementProposalIdentifier": trial["agreementProposalId"], "requestedTerms": terms});
    let quote = agreement(&mut mock, BUYER, false, "CreateAgreementRequest", input);
    let id = accept(&mut mock, &quote);
    // Sent on day 10: due on day 17, after the trial's end on day 14.
    set_clock(&mut mock, "2026-03-20T12:30:00Z");
    let send = json!({"agreementId": id, "reasonCode": "OTHER"});
    let sent = agreement(
        &mut mock,
        SELLER,
        false,
        "SendAgreementCancellationRequest",
        send,
    );
    assert_eq!(sent.body["status"], "PENDING_APPROVAL", "{}", sent.body);
    assert!(sent.body.get("statusMessage").is_none());
    let seq = event_count(&mut mock);
    set_clock(&mut mock, "2026-04-01T00:00:00Z");
    let actions: Vec<String> = moments(&mut mock, seq)
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    assert_eq!(
        actions,
        [
            "free-trial-ended",
            "cancellation-request-approved",
            "unsubscribe-pending"
        ]
    );
    // The cancellation counts from the approval, day 17.
    let events = mock
        .control("GET", &format!("/events?after={seq}"), None)
        .body["events"]
        .clone();
    assert_eq!(events[2]["time"], "2026-03-27T12:30:00Z");

    // A request whose agreement the buyer cancelled meanwhile is not approved.
    let mut mock = world();
    let id = buy(&mut mock, BUYER, false);
    let send = json!({"agreementId": id, "reasonCode": "OTHER"});
    let sent = agreement(
        &mut mock,
        SELLER,
        false,
        "SendAgreementCancellationRequest",
        send,
    );
    // The clock's next deadline is its automatic approval, 7 days on.
    let clock = mock.control("GET", "/clock", None).body;
    assert_eq!(clock["nextDeadline"], "2026-03-17T12:30:00Z", "{clock}");
    let by_id = json!({"agreementId": id, "agreementCancellationRequestId": sent.body["agreementCancellationRequestId"]});
    let cancelled = agreement(
        &mut mock,
        BUYER,
        false,
        "CancelAgreement",
        json!({"agreementId": id}),
    );
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    let refused = agreement(
        &mut mock,
        BUYER,
        false,
        "AcceptAgreementCancellationRequest",
        by_id.clone(),
    );
    assert_eq!(
        refused.error_name(),
        "ConflictException",
        "{}",
        refused.body
    );
    set_clock(&mut mock, "2026-03-18T00:00:00Z");
    let got = agreement(
        &mut mock,
        SELLER,
        false,
        "GetAgreementCancellationRequest",
        by_id,
    );
    assert_eq!(got.body["status"], "CANCELLED", "{}", got.body);
    assert!(got.body["statusMessage"]
        .as_str()
        .unwrap()
        .contains("ended"));
}

#[test]
fn a_private_contract_expires_for_want_of_a_renewal_term() {
    let mut mock = Mock::new();
    mock.add_product(json!({
        "productCode": "private-deal", "dimensions": ["seats"], "integration": "concurrent-agreements",
        "sellerAccountId": SELLER,
        "privateOffers": [{"offerId": "offer-privatedeal01", "buyerAccounts": [BUYER],
                           "contract": {"P12M": {"seats": "100"}}}],
    }));
    set_clock(&mut mock, "2026-03-05T00:00:00Z");
    let terms = discovery(
        &mut mock,
        BUYER,
        "GetOfferTerms",
        json!({"offerId": "offer-privatedeal01"}),
    );
    let kinds: Vec<&String> = terms.body["offerTerms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_object().unwrap().keys().next().unwrap())
        .collect();
    assert!(!kinds.iter().any(|k| *k == "renewalTerm"), "{kinds:?}");
    let id = buy_offer(
        &mut mock,
        "offer-privatedeal01",
        Some(&contract_of("P12M", "seats", 1)),
    );
    let described = agreement(
        &mut mock,
        SELLER,
        false,
        "DescribeAgreement",
        json!({ "agreementId": id }),
    );
    assert_eq!(
        described.body["endTimeBehavior"],
        json!({"type": "EXPIRE", "reasonCode": "NO_RENEWAL_TERM"})
    );
    let search = |mock: &mut Mock, reason: &str| {
        let found = agreement(
            mock,
            SELLER,
            false,
            "SearchAgreements",
            json!({"filters": [
                {"name": "PartyType", "values": ["Proposer"]},
                {"name": "AgreementType", "values": ["PurchaseAgreement"]},
                {"name": "EndTimeBehaviorReasonCode", "values": [reason]}]}),
        );
        assert_eq!(found.status, 200, "{}", found.body);
        found.body["agreementViewSummaries"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(search(&mut mock, "NO_RENEWAL_TERM"), 1);
    assert_eq!(search(&mut mock, "ACCEPTOR_RENEW_OPTED_OUT"), 0);
    // At its end by the namespace clock it expires (no renewal to take its place).
    set_clock(&mut mock, "2027-03-06T00:00:00Z");
    let ended = agreement(
        &mut mock,
        SELLER,
        false,
        "DescribeAgreement",
        json!({ "agreementId": id }),
    );
    assert_eq!(ended.body["status"], "EXPIRED", "{}", ended.body);
}
