//! Variable payments natively: a private offer's variable payment term, the buyer's choice of
//! how payment requests are approved, and each request's way through the state machine
//! (sent, approved with a charge, rejected, withdrawn, approved by the namespace clock, or
//! cancelled when its agreement ended), every answer held to its model's output shape.

mod common;

use common::agreements::{accept, agreement, discovery, set_clock, BUYER, SELLER, STRANGER};
use common::Mock;
use serde_json::{json, Value};

const OFFER: &str = "offer-acmeservices01";

/// A product with a public pay-as-you-go offer and a private offer for `BUYER` whose
/// variable payment term allows 1,000.00 USD.
fn world() -> Mock {
    let mut mock = Mock::new();
    mock.add_product(json!({
        "productCode": "saas", "dimensions": ["users"], "prices": {"users": "0.25"},
        "integration": "concurrent-agreements", "sellerAccountId": SELLER,
        "privateOffers": [{"offerId": OFFER, "buyerAccounts": [BUYER],
                           "variablePayment": {"maxTotalChargeAmount": "1000.00"}}],
    }));
    set_clock(&mut mock, "2026-03-01T00:00:00Z");
    mock
}

/// The private offer's terms as Discovery lists them.
fn offer_terms(mock: &mut Mock) -> Vec<Value> {
    let terms = discovery(mock, BUYER, "GetOfferTerms", json!({"offerId": OFFER}));
    assert_eq!(terms.status, 200, "{}", terms.body);
    terms.body["offerTerms"].as_array().unwrap().clone()
}

fn variable_term(terms: &[Value]) -> Value {
    terms
        .iter()
        .find_map(|t| t.get("variablePaymentTerm").cloned())
        .expect("a variable payment term")
}

/// A quote on the private offer, its variable payment term configured with `configuration`
/// (none: left unconfigured).
fn quote(mock: &mut Mock, configuration: Option<Value>) -> common::Answer {
    let offer = discovery(mock, BUYER, "GetOffer", json!({"offerId": OFFER}));
    let requested: Vec<Value> = offer_terms(mock)
        .iter()
        .map(|t| {
            let (kind, body) = t.as_object().unwrap().iter().next().unwrap();
            match (kind.as_str(), &configuration) {
                ("variablePaymentTerm", Some(c)) => json!({"id": body["id"], "configuration": c}),
                _ => json!({"id": body["id"]}),
            }
        })
        .collect();
    agreement(
        mock,
        BUYER,
        false,
        "CreateAgreementRequest",
        json!({"intent": "NEW", "agreementProposalIdentifier": offer.body["agreementProposalId"],
               "requestedTerms": requested}),
    )
}

/// The buyer's agreement on the private offer (approving requests as `configuration` says).
fn buy(mock: &mut Mock, configuration: Option<Value>) -> (String, String) {
    let quote = quote(mock, configuration);
    assert_eq!(quote.body["chargeSummary"]["newAgreementValue"], "0.00");
    let id = accept(mock, &quote);
    let term = variable_term(&offer_terms(mock));
    (id, term["id"].as_str().unwrap().to_string())
}

fn auto_approve(days: u32) -> Value {
    json!({"variablePaymentTermConfiguration": {
        "paymentRequestApprovalStrategy": "AUTO_APPROVE_ON_EXPIRATION",
        "expirationDuration": format!("P{days}D")}})
}

fn send(
    mock: &mut Mock,
    key: &str,
    agreement_id: &str,
    term: &str,
    extra: Value,
) -> common::Answer {
    let mut input = json!({"agreementId": agreement_id, "termId": term,
                           "name": "Implementation services", "chargeAmount": "100.00"});
    for (k, v) in extra.as_object().unwrap() {
        input[k] = v.clone();
    }
    agreement(mock, key, false, "SendAgreementPaymentRequest", input)
}

fn id_of(answer: &common::Answer) -> String {
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body["paymentRequestId"]
        .as_str()
        .unwrap()
        .to_string()
}

fn by_id(agreement_id: &str, request: &str) -> Value {
    json!({"agreementId": agreement_id, "paymentRequestId": request})
}

fn charges(mock: &mut Mock, agreement_id: &str) -> Vec<Value> {
    let list = agreement(
        mock,
        BUYER,
        false,
        "ListAgreementCharges",
        json!({ "agreementId": agreement_id }),
    );
    assert_eq!(list.status, 200, "{}", list.body);
    list.body["items"].as_array().unwrap().clone()
}

#[test]
fn the_variable_payment_term_is_offered_and_configured_by_the_buyer() {
    let mut mock = world();
    let term = variable_term(&offer_terms(&mut mock));
    assert_eq!(term["type"], "VariablePaymentTerm");
    assert_eq!(
        (&term["currencyCode"], &term["maxTotalChargeAmount"]),
        (&json!("USD"), &json!("1000.00"))
    );
    // The public offer has none.
    let public = mock.control("GET", "/products/saas", None).body["offers"][0]["terms"].clone();
    assert!(public.is_array(), "{public}");
    assert!(!public.to_string().contains("variablePayment"), "{public}");

    for (bad, fragment) in [
        (
            json!({"variablePaymentTermConfiguration": {"paymentRequestApprovalStrategy": "AUTO_APPROVE_ON_EXPIRATION"}}),
            "needs an expirationDuration",
        ),
        (auto_approve(400), "at most P366D"),
        (
            json!({"renewalTermConfiguration": {"enableAutoRenew": true}}),
            "configure it with variablePaymentTermConfiguration",
        ),
    ] {
        let refused = quote(&mut mock, Some(bad));
        assert_eq!(
            refused.body["reason"], "INVALID_REQUESTED_TERM_CONFIGURATION",
            "{}",
            refused.body
        );
        assert!(
            refused.body.to_string().contains(fragment),
            "{}",
            refused.body
        );
    }
    let (id, _) = buy(&mut mock, Some(auto_approve(10)));
    let terms = agreement(
        &mut mock,
        SELLER,
        true,
        "GetAgreementTerms",
        json!({ "agreementId": id }),
    );
    let accepted = variable_term(terms.body["acceptedTerms"].as_array().unwrap());
    assert_eq!(
        accepted["configuration"],
        json!({"paymentRequestApprovalStrategy": "AUTO_APPROVE_ON_EXPIRATION", "expirationDuration": "P10D"})
    );
    // Unconfigured, the buyer approves each request itself.
    let (id, _) = buy(&mut mock, None);
    let terms = agreement(
        &mut mock,
        BUYER,
        false,
        "GetAgreementTerms",
        json!({ "agreementId": id }),
    );
    let accepted = variable_term(terms.body["acceptedTerms"].as_array().unwrap());
    assert_eq!(
        accepted["configuration"],
        json!({"paymentRequestApprovalStrategy": "WAIT_FOR_APPROVAL"})
    );

    // A variable payment term's maximum is dollars and cents above zero.
    let refused = mock.control(
        "POST",
        "/products",
        Some(json!({"productCode": "other", "dimensions": ["users"],
            "privateOffers": [{"buyerAccounts": [BUYER], "variablePayment": {"maxTotalChargeAmount": "0.00"}}]})),
    );
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.to_string().contains("maxTotalChargeAmount"));
}

#[test]
fn a_payment_request_is_approved_rejected_or_withdrawn_within_the_term_s_maximum() {
    let mut mock = world();
    let (id, term) = buy(&mut mock, None);

    // Only the proposer sends one, on a variable payment term, of whole cents within the
    // maximum.
    let refused = send(&mut mock, BUYER, &id, &term, json!({}));
    assert_eq!(refused.error_name(), "AccessDeniedException");
    let refused = send(&mut mock, STRANGER, &id, &term, json!({}));
    assert_eq!(refused.error_name(), "ResourceNotFoundException");
    for (extra, reason) in [
        (json!({"termId": "term-nope"}), "INVALID_TERM_ID"),
        (json!({"chargeAmount": "1.001"}), "INVALID_CHARGE_AMOUNT"),
        (json!({"chargeAmount": "0"}), "INVALID_CHARGE_AMOUNT"),
        (json!({"chargeAmount": "1000.01"}), "INVALID_CHARGE_AMOUNT"),
        (json!({"name": "abc"}), "INVALID_NAME"),
    ] {
        let refused = send(&mut mock, SELLER, &id, &term, extra.clone());
        assert_eq!(refused.body["reason"], reason, "{extra}: {}", refused.body);
    }

    let first = send(
        &mut mock,
        SELLER,
        &id,
        &term,
        json!({"clientToken": "pay-1", "chargeAmount": "600", "description": "Onboarding"}),
    );
    assert_eq!(first.body["status"], "PENDING_APPROVAL", "{}", first.body);
    assert_eq!(first.body["chargeAmount"], "600.00");
    let first_id = id_of(&first);
    assert!(first_id.starts_with("pr-"));
    // A retry is the same request; the token with other members conflicts.
    let retried = send(
        &mut mock,
        SELLER,
        &id,
        &term,
        json!({"clientToken": "pay-1", "chargeAmount": "600", "description": "Onboarding"}),
    );
    assert_eq!(id_of(&retried), first_id);
    let conflict = send(
        &mut mock,
        SELLER,
        &id,
        &term,
        json!({"clientToken": "pay-1", "chargeAmount": "601"}),
    );
    assert_eq!(conflict.error_name(), "ConflictException");
    // The pending 600 holds its amount: 500 more would exceed the 1,000.
    let over = send(
        &mut mock,
        SELLER,
        &id,
        &term,
        json!({"chargeAmount": "500"}),
    );
    assert_eq!(
        over.body["reason"], "INVALID_CHARGE_AMOUNT",
        "{}",
        over.body
    );
    assert!(
        over.body["message"]
            .as_str()
            .unwrap()
            .contains("available balance of term"),
        "{}",
        over.body
    );
    let second_id = id_of(&send(
        &mut mock,
        SELLER,
        &id,
        &term,
        json!({"chargeAmount": "400"}),
    ));

    // Both parties read them; a stranger finds nothing.
    for cbor in [false, true] {
        for (key, found) in [(BUYER, true), (SELLER, true), (STRANGER, false)] {
            let got = agreement(
                &mut mock,
                key,
                cbor,
                "GetAgreementPaymentRequest",
                by_id(&id, &first_id),
            );
            match found {
                true => assert_eq!(got.body["description"], "Onboarding", "{}", got.body),
                false => assert_eq!(got.error_name(), "ResourceNotFoundException"),
            }
        }
    }
    let listed = |mock: &mut Mock, key: &str, input: Value| -> Vec<String> {
        let list = agreement(mock, key, false, "ListAgreementPaymentRequests", input);
        assert_eq!(list.status, 200, "{}", list.body);
        list.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["paymentRequestId"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        listed(&mut mock, SELLER, json!({"partyType": "Proposer"})),
        [second_id.as_str(), first_id.as_str()]
    );
    assert_eq!(
        listed(
            &mut mock,
            BUYER,
            json!({"partyType": "Acceptor", "maxResults": 1})
        ),
        [second_id.as_str()]
    );
    assert!(listed(&mut mock, SELLER, json!({"partyType": "Acceptor"})).is_empty());
    assert!(listed(&mut mock, STRANGER, json!({"partyType": "Proposer"})).is_empty());
    let bad = agreement(
        &mut mock,
        SELLER,
        false,
        "ListAgreementPaymentRequests",
        json!({"partyType": "Seller"}),
    );
    assert_eq!(bad.body["reason"], "INVALID_PARTY_TYPE");

    // The acceptor approves the first (the proposer may not): a charge with its purchase
    // order; nothing changes it again.
    let approve = |po: &str| {
        let mut input = by_id(&id, &first_id);
        input["purchaseOrderReference"] = json!(po);
        input
    };
    let refused = agreement(
        &mut mock,
        SELLER,
        false,
        "AcceptAgreementPaymentRequest",
        approve("PO-1"),
    );
    assert_eq!(refused.error_name(), "AccessDeniedException");
    let approved = agreement(
        &mut mock,
        BUYER,
        true,
        "AcceptAgreementPaymentRequest",
        approve("PO-1"),
    );
    assert_eq!(approved.body["status"], "APPROVED", "{}", approved.body);
    let again = agreement(
        &mut mock,
        BUYER,
        false,
        "AcceptAgreementPaymentRequest",
        approve("PO-1"),
    );
    assert_eq!(again.error_name(), "ConflictException");
    let got = agreement(
        &mut mock,
        SELLER,
        false,
        "GetAgreementPaymentRequest",
        by_id(&id, &first_id),
    );
    let charge_id = got.body["chargeId"].as_str().unwrap().to_string();
    assert!(charge_id.starts_with("ch-"));
    let listed_charges = charges(&mut mock, &id);
    assert_eq!(listed_charges.len(), 1);
    assert_eq!(
        (
            &listed_charges[0]["id"],
            &listed_charges[0]["amount"],
            &listed_charges[0]["purchaseOrderReference"]
        ),
        (&json!(charge_id), &json!("600.00"), &json!("PO-1"))
    );
    let described = agreement(
        &mut mock,
        SELLER,
        false,
        "DescribeAgreement",
        json!({ "agreementId": id }),
    );
    assert_eq!(
        described.body["estimatedCharges"]["agreementValue"],
        "600.00"
    );

    // The acceptor rejects the second, with its reason; 400 is then free again, and the
    // proposer withdraws a request for it (the acceptor may not).
    let mut reject = by_id(&id, &second_id);
    reject["rejectionReason"] = json!("not agreed");
    let rejected = agreement(
        &mut mock,
        BUYER,
        false,
        "RejectAgreementPaymentRequest",
        reject,
    );
    assert_eq!(
        (&rejected.body["status"], &rejected.body["statusMessage"]),
        (&json!("REJECTED"), &json!("not agreed"))
    );
    let third_id = id_of(&send(
        &mut mock,
        SELLER,
        &id,
        &term,
        json!({"chargeAmount": "400.00"}),
    ));
    let refused = agreement(
        &mut mock,
        BUYER,
        false,
        "CancelAgreementPaymentRequest",
        by_id(&id, &third_id),
    );
    assert_eq!(refused.error_name(), "AccessDeniedException");
    let withdrawn = agreement(
        &mut mock,
        SELLER,
        false,
        "CancelAgreementPaymentRequest",
        by_id(&id, &third_id),
    );
    assert_eq!(withdrawn.body["status"], "CANCELLED", "{}", withdrawn.body);
    assert_eq!(
        listed(
            &mut mock,
            SELLER,
            json!({"partyType": "Proposer", "status": "CANCELLED", "agreementId": id})
        ),
        [third_id]
    );
    assert_eq!(charges(&mut mock, &id).len(), 1);

    // A public offer's agreement has no variable payment term.
    let public = mock.control("GET", "/products/saas", None).body["offers"][0].clone();
    let requested: Vec<Value> = public["terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| json!({"id": t.as_object().unwrap().values().next().unwrap()["id"]}))
        .collect();
    let quote = agreement(
        &mut mock,
        BUYER,
        false,
        "CreateAgreementRequest",
        json!({"intent": "NEW", "agreementProposalIdentifier": public["agreementProposalId"], "requestedTerms": requested}),
    );
    let public_id = accept(&mut mock, &quote);
    let refused = send(&mut mock, SELLER, &public_id, &term, json!({}));
    assert_eq!(
        refused.body["reason"], "INVALID_TERM_ID",
        "{}",
        refused.body
    );
}

#[test]
fn a_request_approves_itself_after_the_expiration_unless_its_agreement_ended() {
    let mut mock = world();
    let (id, term) = buy(&mut mock, Some(auto_approve(10)));
    let sent = id_of(&send(&mut mock, SELLER, &id, &term, json!({})));
    set_clock(&mut mock, "2026-03-10T23:59:59Z");
    let get = |mock: &mut Mock, agreement_id: &str, request: &str| {
        agreement(
            mock,
            SELLER,
            false,
            "GetAgreementPaymentRequest",
            by_id(agreement_id, request),
        )
        .body
    };
    assert_eq!(get(&mut mock, &id, &sent)["status"], "PENDING_APPROVAL");
    set_clock(&mut mock, "2026-03-20T00:00:00Z");
    let approved = get(&mut mock, &id, &sent);
    assert_eq!(approved["status"], "APPROVED", "{approved}");
    assert!(approved["statusMessage"]
        .as_str()
        .unwrap()
        .contains("Approved automatically"));
    // Charged when it was due, ten days after it was sent.
    let listed = charges(&mut mock, &id);
    assert_eq!(listed[0]["id"], approved["chargeId"]);
    assert_eq!(listed[0]["time"], common::secs("2026-03-11T00:00:00Z"));

    // One whose agreement the buyer cancelled meanwhile is not approved: not by the buyer,
    // nor by the clock.
    let late = id_of(&send(&mut mock, SELLER, &id, &term, json!({})));
    let cancelled = agreement(
        &mut mock,
        BUYER,
        false,
        "CancelAgreement",
        json!({ "agreementId": id }),
    );
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    let refused = agreement(
        &mut mock,
        BUYER,
        false,
        "AcceptAgreementPaymentRequest",
        by_id(&id, &late),
    );
    assert_eq!(
        refused.error_name(),
        "ConflictException",
        "{}",
        refused.body
    );
    let refused = send(&mut mock, SELLER, &id, &term, json!({}));
    assert_eq!(
        refused.body["reason"], "INACTIVE_AGREEMENT",
        "{}",
        refused.body
    );
    set_clock(&mut mock, "2026-04-30T00:00:00Z");
    let settled = get(&mut mock, &id, &late);
    assert_eq!(settled["status"], "CANCELLED", "{settled}");
    assert_eq!(charges(&mut mock, &id).len(), 1);
}

#[test]
fn the_control_api_lists_the_activity_plays_the_buyer_and_names_the_next_deadline() {
    let mut mock = world();
    let (id, term) = buy(&mut mock, Some(auto_approve(10)));
    let first = id_of(&send(&mut mock, SELLER, &id, &term, json!({})));
    let second = id_of(&send(
        &mut mock,
        SELLER,
        &id,
        &term,
        json!({"chargeAmount": "5.00"}),
    ));
    // The next deadline is the first request's automatic approval.
    let clock = mock.control("GET", "/clock", None).body;
    assert_eq!(clock["nextDeadline"], "2026-03-11T00:00:00Z", "{clock}");
    let buyer = |mock: &mut Mock, operation: &str, input: Value| {
        mock.control(
            "POST",
            "/agreement-activity/buyer",
            Some(json!({ "operation": operation, "input": input })),
        )
    };
    let approved = buyer(
        &mut mock,
        "AcceptAgreementPaymentRequest",
        json!({"agreementId": id, "paymentRequestId": first, "purchaseOrderReference": "PO-5"}),
    );
    assert_eq!(
        (approved.status, &approved.body["status"]),
        (200, &json!("APPROVED")),
        "{}",
        approved.body
    );
    let again = buyer(
        &mut mock,
        "AcceptAgreementPaymentRequest",
        json!({"agreementId": id, "paymentRequestId": first}),
    );
    assert_eq!(
        (again.status, &again.body["type"]),
        (409, &json!("ConflictException"))
    );
    assert!(again.body["error"]
        .as_str()
        .unwrap()
        .starts_with("ConflictException: Payment request"));
    let invalid = buyer(
        &mut mock,
        "RejectAgreementPaymentRequest",
        json!({ "agreementId": id }),
    );
    assert_eq!(
        (invalid.status, &invalid.body["reason"]),
        (400, &json!("MISSING_PAYMENT_REQUEST_ID")),
        "{}",
        invalid.body
    );
    let unknown = buyer(
        &mut mock,
        "RejectAgreementPaymentRequest",
        json!({"agreementId": "agmt-nope", "paymentRequestId": second}),
    );
    assert_eq!(unknown.status, 404);
    let not_buyer = buyer(
        &mut mock,
        "SendAgreementPaymentRequest",
        json!({"agreementId": id, "termId": term, "name": "Implementation", "chargeAmount": "1.00"}),
    );
    assert_eq!(not_buyer.status, 400);
    assert!(
        not_buyer.body["error"]
            .as_str()
            .unwrap()
            .contains("operation must be one of"),
        "{}",
        not_buyer.body
    );
    let rejected = buyer(
        &mut mock,
        "RejectAgreementPaymentRequest",
        json!({"agreementId": id, "paymentRequestId": second, "rejectionReason": "no"}),
    );
    assert_eq!(rejected.body["status"], "REJECTED", "{}", rejected.body);

    let activity = mock
        .control(
            "GET",
            &format!("/agreement-activity?agreementId={id}"),
            None,
        )
        .body;
    let statuses: Vec<&Value> = activity["paymentRequests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["status"])
        .collect();
    assert_eq!(statuses, [&json!("REJECTED"), &json!("APPROVED")]);
    assert_eq!(activity["invoices"][0]["amount"], "100.00", "{activity}");
    assert_eq!(activity["invoices"][0]["invoiceType"], "INVOICE");
    let other = mock
        .control("GET", "/agreement-activity?agreementId=agmt-other", None)
        .body;
    assert!(other["paymentRequests"].as_array().unwrap().is_empty());
    let unknown = mock.control("GET", "/agreement-activity?agreement_id=x", None);
    assert_eq!(unknown.status, 400, "{}", unknown.body);
    // Once nothing is pending, the next deadline is the month's invoicing; a namespace
    // without agreements has none.
    let clock = mock.control("GET", "/clock", None).body;
    assert_eq!(clock["nextDeadline"], "2026-04-01T06:00:00Z", "{clock}");
    let empty = Mock::new().control("GET", "/clock", None).body;
    assert!(empty.get("nextDeadline").is_none(), "{empty}");
}

#[test]
fn only_the_party_that_may_decides_and_only_while_pending_for_both_kinds_of_request() {
    let mut mock = world();
    let (id, term) = buy(&mut mock, None);
    let payment = id_of(&send(&mut mock, SELLER, &id, &term, json!({})));
    let cancellation = agreement(
        &mut mock,
        SELLER,
        false,
        "SendAgreementCancellationRequest",
        json!({"agreementId": id, "reasonCode": "OTHER"}),
    );
    assert_eq!(cancellation.status, 200, "{}", cancellation.body);
    let cancellation = cancellation.body["agreementCancellationRequestId"]
        .as_str()
        .unwrap()
        .to_string();
    let kinds = [
        ("Payment", "paymentRequestId", payment.clone()),
        (
            "Cancellation",
            "agreementCancellationRequestId",
            cancellation,
        ),
    ];
    for (kind, member, request) in &kinds {
        let op = |verb: &str| format!("{verb}Agreement{kind}Request");
        // A cancellation request's Reject and Cancel need their reasons (the model's).
        let with_reasons = |mut input: Value| {
            if *kind == "Cancellation" {
                input["rejectionReason"] = json!("no");
                input["cancellationReason"] = json!("no");
            }
            input
        };
        let input =
            |agreement: &str| with_reasons(json!({ "agreementId": agreement, *member: request }));
        // The seller neither approves nor rejects; the buyer does not withdraw.
        for verb in ["Accept", "Reject"] {
            let refused = agreement(&mut mock, SELLER, false, &op(verb), input(&id));
            assert_eq!(
                refused.error_name(),
                "AccessDeniedException",
                "{kind} {verb}"
            );
        }
        let refused = agreement(&mut mock, BUYER, false, &op("Cancel"), input(&id));
        assert_eq!(refused.error_name(), "AccessDeniedException", "{kind}");
        // A stranger finds nothing; nor does anyone under another agreement's id.
        for verb in ["Accept", "Reject", "Cancel"] {
            let hidden = agreement(&mut mock, STRANGER, false, &op(verb), input(&id));
            assert_eq!(
                hidden.error_name(),
                "ResourceNotFoundException",
                "{kind} {verb}"
            );
        }
        let elsewhere = agreement(
            &mut mock,
            BUYER,
            false,
            &op("Accept"),
            input("agmt-elsewhere"),
        );
        assert_eq!(
            elsewhere.error_name(),
            "ResourceNotFoundException",
            "{kind}"
        );
        // Once withdrawn, nothing changes it again.
        let withdrawn = agreement(&mut mock, SELLER, true, &op("Cancel"), input(&id));
        assert_eq!(
            withdrawn.body["status"], "CANCELLED",
            "{kind}: {}",
            withdrawn.body
        );
        for (key, verb) in [(SELLER, "Cancel"), (BUYER, "Accept"), (BUYER, "Reject")] {
            let again = agreement(&mut mock, key, false, &op(verb), input(&id));
            assert_eq!(again.error_name(), "ConflictException", "{kind} {verb}");
        }
    }

    // Pages: a name longer than the model's 64 characters is refused; 51 requests list in
    // pages of 50 by default, the token of the first page giving the rest.
    let long = send(
        &mut mock,
        SELLER,
        &id,
        &term,
        json!({"name": "n".repeat(65)}),
    );
    assert_eq!(long.body["reason"], "INVALID_NAME", "{}", long.body);
    for n in 0..50 {
        let sent = send(
            &mut mock,
            SELLER,
            &id,
            &term,
            json!({"chargeAmount": "0.01", "name": format!("small {n}")}),
        );
        assert_eq!(sent.status, 200, "{}", sent.body);
    }
    let first = agreement(
        &mut mock,
        SELLER,
        false,
        "ListAgreementPaymentRequests",
        json!({"partyType": "Proposer"}),
    );
    assert_eq!(first.body["items"].as_array().unwrap().len(), 50);
    let token = first.body["nextToken"].clone();
    assert!(token.is_string(), "{}", first.body);
    let rest = agreement(
        &mut mock,
        SELLER,
        true,
        "ListAgreementPaymentRequests",
        json!({"partyType": "Proposer", "nextToken": token}),
    );
    let items = rest.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", rest.body);
    assert_eq!(items[0]["paymentRequestId"], json!(payment));
    assert!(rest.body.get("nextToken").is_none());
    let forged = agreement(
        &mut mock,
        SELLER,
        false,
        "ListAgreementPaymentRequests",
        json!({"partyType": "Acceptor", "nextToken": token}),
    );
    assert_eq!(
        forged.body["reason"], "INVALID_NEXT_TOKEN",
        "{}",
        forged.body
    );
}

#[test]
fn an_agreement_holds_a_hundred_charges_and_pending_requests() {
    let mut mock = world();
    let (id, term) = buy(&mut mock, None);
    let mut sent = Vec::new();
    for n in 0..100 {
        let answer = send(
            &mut mock,
            SELLER,
            &id,
            &term,
            json!({"chargeAmount": "1.00", "name": format!("Hour {n:03}")}),
        );
        sent.push(id_of(&answer));
    }
    let full = send(
        &mut mock,
        SELLER,
        &id,
        &term,
        json!({"chargeAmount": "1.00"}),
    );
    assert_eq!(full.error_name(), "ConflictException", "{}", full.body);
    assert!(
        full.message().contains("100 charges and pending"),
        "{}",
        full.body
    );
    // An approval turns a pending request into a charge: still 100 held.
    let approved = agreement(
        &mut mock,
        BUYER,
        false,
        "AcceptAgreementPaymentRequest",
        by_id(&id, &sent[0]),
    );
    assert_eq!(approved.status, 200, "{}", approved.body);
    let still = send(
        &mut mock,
        SELLER,
        &id,
        &term,
        json!({"chargeAmount": "1.00"}),
    );
    assert_eq!(still.error_name(), "ConflictException");
    // A withdrawn one makes room.
    let withdrawn = agreement(
        &mut mock,
        SELLER,
        false,
        "CancelAgreementPaymentRequest",
        by_id(&id, &sent[1]),
    );
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.body);
    id_of(&send(
        &mut mock,
        SELLER,
        &id,
        &term,
        json!({"chargeAmount": "1.00"}),
    ));
}

#[test]
fn the_journal_keeps_sensitive_members_masked_and_the_answers_whole() {
    let mut mock = world();
    let (id, term) = buy(&mut mock, None);
    let sent = send(
        &mut mock,
        SELLER,
        &id,
        &term,
        json!({"description": "Confidential scope of work"}),
    );
    assert_eq!(sent.body["description"], "Confidential scope of work");
    let journal = mock
        .control(
            "GET",
            "/requests?operation=SendAgreementPaymentRequest",
            None,
        )
        .body;
    let entry = &journal["requests"][0];
    assert_eq!(
        entry["request"]["description"], "*** sensitive (not kept) ***",
        "{entry}"
    );
    assert_eq!(
        entry["response"]["description"], "*** sensitive (not kept) ***",
        "{entry}"
    );
    assert_eq!(entry["request"]["name"], "Implementation services");
    assert!(!journal.to_string().contains("Confidential"));
}
