//! Buyer approvals natively: the `approvalPlans` setting makes a buyer's agreement requests
//! wait in `DRAFT` until the buyer starts the approvals its organization requires; an
//! administrator decides them level by level (as the organization approver or on another
//! approver's behalf); an approved request can be accepted, a rejected one cannot, and an
//! undecided approval expires by the namespace clock. Every answer is held to its model.

mod common;

use common::agreements::{agreement, set_clock, BUYER, SELLER, STRANGER};
use common::{Answer, Mock};
use metering_mock::store::Store;
use serde_json::{json, Value};

/// An administrator of the buyer's organization.
const ADMIN: &str = "777766665555";

fn world() -> Mock {
    let mut mock = Mock::new();
    mock.add_product(json!({
        "productCode": "saas", "dimensions": ["users"], "prices": {"users": "0.25"},
        "integration": "concurrent-agreements", "sellerAccountId": SELLER,
    }));
    let plans = json!({"approvalPlans": [{
    "name": "Procurement review", "buyerAccounts": [BUYER], "administrators": [ADMIN],
    "levels": [
        {"name": "Organization", "approvers": [{"organizationId": "o-abcdefghij"}]},
        {"name": "Finance", "requiredApprovals": 1, "approvers": [
            {"emailAddress": "cfo@example.com", "name": "CFO"}, {"procurementTool": "Coupa"}]}
    ]}]});
    let patched = mock.control("PATCH", "/settings", Some(plans));
    assert_eq!(patched.status, 200, "{}", patched.body);
    set_clock(&mut mock, "2026-03-01T00:00:00Z");
    mock
}

/// A quote of `buyer` on the public offer.
fn quote(mock: &mut Mock, buyer: &str) -> Answer {
    let offer = mock.control("GET", "/products/saas", None).body["offers"][0].clone();
    let terms: Vec<Value> = offer["terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| json!({"id": t.as_object().unwrap().values().next().unwrap()["id"]}))
        .collect();
    agreement(
        mock,
        buyer,
        false,
        "CreateAgreementRequest",
        json!({"intent": "NEW", "agreementProposalIdentifier": offer["agreementProposalId"], "requestedTerms": terms}),
    )
}

fn request_id(answer: &Answer) -> String {
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body["agreementRequestId"]
        .as_str()
        .unwrap()
        .to_string()
}

fn plan_reference(mock: &mut Mock, request: &str) -> String {
    let plans = agreement(
        mock,
        BUYER,
        true,
        "GetAgreementRequestApprovalPlans",
        json!({ "agreementRequestId": request }),
    );
    assert_eq!(plans.status, 200, "{}", plans.body);
    plans.body["items"][0]["buyerAgreementApprovalPlan"]["planReference"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Starts the approval of `request`; returns its id.
fn start(mock: &mut Mock, request: &str) -> String {
    let reference = plan_reference(mock, request);
    let started = agreement(
        mock,
        BUYER,
        false,
        "StartAgreementApprovals",
        json!({"agreementRequestId": request, "planInputs": [
            {"buyerAgreementApprovalPlanInput": {"planReference": reference, "requesterNote": "for the data team"}}]}),
    );
    assert_eq!(started.status, 200, "{}", started.body);
    started.body["approvalSummaries"][0]["agreementApprovalId"]
        .as_str()
        .unwrap()
        .to_string()
}

fn decide(mock: &mut Mock, key: &str, op: &str, input: Value) -> Answer {
    let member = match op {
        "AcceptAgreementApproval" => "buyerAgreementApprovalApproverInput",
        _ => "buyerAgreementApprovalRejectionInput",
    };
    agreement(mock, key, true, op, json!({ member: input }))
}

fn request_status(mock: &mut Mock, request: &str) -> Value {
    agreement(
        mock,
        BUYER,
        false,
        "GetAgreementRequest",
        json!({ "agreementRequestId": request }),
    )
    .body["status"]
        .clone()
}

fn approval(mock: &mut Mock, key: &str, id: &str) -> Answer {
    agreement(
        mock,
        key,
        false,
        "GetAgreementApproval",
        json!({ "agreementApprovalId": id }),
    )
}

fn accept_request(mock: &mut Mock, request: &str) -> Answer {
    agreement(
        mock,
        BUYER,
        false,
        "AcceptAgreementRequest",
        json!({ "agreementRequestId": request }),
    )
}

#[test]
fn a_request_waits_for_its_approvals_level_by_level() {
    let mut mock = world();
    // A buyer no plan applies to needs no approval.
    let free = quote(&mut mock, STRANGER);
    assert_eq!(
        (&free.body["status"], &free.body["approvalRequirement"]),
        (&json!("APPROVED"), &json!("NOT_REQUIRED"))
    );
    let unplanned = agreement(
        &mut mock,
        STRANGER,
        false,
        "GetAgreementRequestApprovalPlans",
        json!({ "agreementRequestId": request_id(&free) }),
    );
    assert_eq!(unplanned.body["reason"], "INCOMPATIBLE_AGREEMENT_REQUEST");

    let made = quote(&mut mock, BUYER);
    assert_eq!(
        (&made.body["status"], &made.body["approvalRequirement"]),
        (&json!("DRAFT"), &json!("REQUIRED"))
    );
    let request = request_id(&made);
    assert_eq!(
        accept_request(&mut mock, &request).body["reason"],
        "PENDING_APPROVAL_AGREEMENT_REQUEST"
    );
    let plans = agreement(
        &mut mock,
        BUYER,
        false,
        "GetAgreementRequestApprovalPlans",
        json!({ "agreementRequestId": request }),
    );
    let plan = &plans.body["items"][0]["buyerAgreementApprovalPlan"];
    assert_eq!(plan["name"], "Procurement review");
    assert_eq!(
        plan["levels"][1]["groups"][0]["approvers"][0],
        json!({"emailApprover": {"emailAddress": "cfo@example.com", "name": "CFO"}})
    );
    let hidden = agreement(
        &mut mock,
        STRANGER,
        false,
        "GetAgreementRequestApprovalPlans",
        json!({ "agreementRequestId": request }),
    );
    assert_eq!(hidden.error_name(), "ResourceNotFoundException");
    let wrong = agreement(
        &mut mock,
        BUYER,
        false,
        "StartAgreementApprovals",
        json!({"agreementRequestId": request, "planInputs": [
            {"buyerAgreementApprovalPlanInput": {"planReference": "aplan-0000"}}]}),
    );
    assert_eq!(wrong.body["reason"], "INVALID_PLAN_INPUTS");

    let id = start(&mut mock, &request);
    assert!(id.starts_with("apr-"));
    assert_eq!(request_status(&mut mock, &request), "PENDING_APPROVAL");
    let reference = plan_reference(&mut mock, &request);
    let again = agreement(
        &mut mock,
        BUYER,
        false,
        "StartAgreementApprovals",
        json!({"agreementRequestId": request, "planInputs": [
            {"buyerAgreementApprovalPlanInput": {"planReference": reference}}]}),
    );
    assert_eq!(again.error_name(), "ConflictException");

    // The requester and the administrator list and read it; nobody else.
    let listed = |mock: &mut Mock, key: &str, party: &str| {
        agreement(
            mock,
            key,
            false,
            "ListAgreementApprovals",
            json!({ "partyType": party }),
        )
        .body["items"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(listed(&mut mock, BUYER, "REQUESTER"), 1);
    assert_eq!(listed(&mut mock, ADMIN, "AWS_ORGANIZATION_ADMIN"), 1);
    assert_eq!(listed(&mut mock, STRANGER, "AWS_ORGANIZATION_ADMIN"), 0);
    assert_eq!(
        approval(&mut mock, STRANGER, &id).error_name(),
        "ResourceNotFoundException"
    );
    let read = approval(&mut mock, BUYER, &id).body["buyerAgreementApproval"].clone();
    assert_eq!(read["planInput"]["requesterNote"], "for the data team");
    assert_eq!(read["requester"]["accountId"], BUYER);
    assert_eq!(read["proposer"]["accountId"], SELLER);
    let outcome = |read: &Value, level: usize, n: usize| {
        let o = &read["levels"][level]["groups"][0]["approvers"][n];
        o.as_object().unwrap().values().next().unwrap().clone()
    };
    assert_eq!(outcome(&read, 0, 0)["status"], "PENDING_APPROVAL");
    assert_eq!(outcome(&read, 1, 0)["status"], "QUEUED");
    let cfo = outcome(&read, 1, 0)["approverOutcomeId"]
        .as_str()
        .unwrap()
        .to_string();

    // Only an administrator decides; levels in order.
    let input = json!({ "agreementApprovalId": id });
    assert_eq!(
        decide(&mut mock, BUYER, "AcceptAgreementApproval", input.clone()).error_name(),
        "AccessDeniedException"
    );
    let early = decide(
        &mut mock,
        ADMIN,
        "AcceptAgreementApproval",
        json!({"agreementApprovalId": id, "approverOutcomeIdToOverride": cfo}),
    );
    assert_eq!(early.body["reason"], "QUEUED_AGREEMENT_APPROVAL");
    let first = decide(&mut mock, ADMIN, "AcceptAgreementApproval", input.clone());
    assert_eq!(first.status, 200, "{}", first.body);
    let unnamed = decide(&mut mock, ADMIN, "AcceptAgreementApproval", input);
    assert_eq!(
        unnamed.body["reason"],
        "INVALID_APPROVER_OUTCOME_ID_TO_OVERRIDE"
    );
    let second = decide(
        &mut mock,
        ADMIN,
        "AcceptAgreementApproval",
        json!({"agreementApprovalId": id, "approverOutcomeIdToOverride": cfo, "note": "within budget",
               "purchaseOrders": [{"chargeId": "ch-1", "purchaseOrderReference": "PO-9"}]}),
    );
    assert_eq!(second.status, 200, "{}", second.body);
    let read = approval(&mut mock, ADMIN, &id).body["buyerAgreementApproval"].clone();
    assert_eq!(read["status"], "APPROVED");
    let decided = outcome(&read, 1, 0);
    assert_eq!(
        (
            &decided["status"],
            &decided["note"],
            &decided["overriddenBy"]["principalArn"]
        ),
        (
            &json!("APPROVED"),
            &json!("within budget"),
            &json!(format!("arn:aws:iam::{ADMIN}:root"))
        )
    );
    assert_eq!(
        decided["purchaseOrders"],
        json!([{"chargeId": "ch-1", "purchaseOrderReference": "PO-9"}])
    );
    assert_eq!(outcome(&read, 1, 1)["status"], "SKIPPED");
    assert_eq!(request_status(&mut mock, &request), "APPROVED");
    let accepted = accept_request(&mut mock, &request);
    assert_eq!(accepted.status, 200, "{}", accepted.body);
}

#[test]
fn a_rejection_rejects_the_request_and_an_undecided_approval_expires() {
    let mut mock = world();
    let request = request_id(&quote(&mut mock, BUYER));
    let id = start(&mut mock, &request);
    let rejected = decide(
        &mut mock,
        ADMIN,
        "RejectAgreementApproval",
        json!({"agreementApprovalId": id, "note": "not in this quarter"}),
    );
    assert_eq!(rejected.status, 200, "{}", rejected.body);
    assert_eq!(request_status(&mut mock, &request), "REJECTED");
    assert_eq!(
        accept_request(&mut mock, &request).body["reason"],
        "REJECTED_BY_AGREEMENT_APPROVAL_POLICY"
    );
    let closed = decide(
        &mut mock,
        ADMIN,
        "AcceptAgreementApproval",
        json!({ "agreementApprovalId": id }),
    );
    assert_eq!(closed.body["reason"], "CLOSED_AGREEMENT_APPROVAL");

    // Thirty days undecided: the approval expires and its request is cancelled.
    let later = request_id(&quote(&mut mock, BUYER));
    let waiting = start(&mut mock, &later);
    // The clock's next deadline is the approval's expiry.
    let clock = mock.control("GET", "/clock", None).body;
    assert_eq!(clock["nextDeadline"], "2026-03-31T00:00:00Z", "{clock}");
    set_clock(&mut mock, "2026-03-30T23:59:59Z");
    assert_eq!(
        approval(&mut mock, BUYER, &waiting).body["buyerAgreementApproval"]["status"],
        "PENDING_APPROVAL"
    );
    set_clock(&mut mock, "2026-04-02T00:00:00Z");
    let read = approval(&mut mock, BUYER, &waiting).body["buyerAgreementApproval"].clone();
    assert_eq!(read["status"], "EXPIRED", "{read}");
    assert_eq!(request_status(&mut mock, &later), "CANCELLED");

    // Cancelling a request cancels its approvals.
    let third = request_id(&quote(&mut mock, BUYER));
    let pending = start(&mut mock, &third);
    let cancelled = agreement(
        &mut mock,
        BUYER,
        false,
        "CancelAgreementRequest",
        json!({ "agreementRequestId": third }),
    );
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(
        approval(&mut mock, BUYER, &pending).body["buyerAgreementApproval"]["status"],
        "CANCELLED"
    );
    let statuses: Vec<Value> = agreement(
        &mut mock,
        BUYER,
        false,
        "ListAgreementApprovals",
        json!({"partyType": "REQUESTER", "status": "CANCELLED"}),
    )
    .body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["agreementApprovalId"].clone())
        .collect();
    assert_eq!(statuses, [json!(pending)]);

    // A plan is checked when it is set.
    let bad = mock.control(
        "PATCH",
        "/settings",
        Some(
            json!({"approvalPlans": [{"name": "x", "administrators": [ADMIN],
            "levels": [{"requiredApprovals": 2, "approvers": [{"procurementTool": "Coupa"}]}]}]}),
        ),
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body.to_string().contains("requiredApprovals"));
}

#[test]
fn a_draft_whose_plan_was_taken_off_is_accepted_and_long_notes_stay_bounded() {
    let mut mock = world();
    let request = request_id(&quote(&mut mock, BUYER));
    let cleared = mock.control("PATCH", "/settings", Some(json!({"approvalPlans": []})));
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    let accepted = accept_request(&mut mock, &request);
    assert_eq!(accepted.status, 200, "{}", accepted.body);

    // Notes that would fill the namespace's approvals make the oldest settled ones give way:
    // what they take stays within 1 MiB, and deciding is never refused for it.
    let mut mock = world();
    let note = "\u{1}".repeat(1000);
    let mut ids = Vec::new();
    for _ in 0..190 {
        let request = request_id(&quote(&mut mock, BUYER));
        let id = start(&mut mock, &request);
        let rejected = decide(
            &mut mock,
            ADMIN,
            "RejectAgreementApproval",
            json!({"agreementApprovalId": id, "note": note}),
        );
        assert_eq!(rejected.status, 200, "{}", rejected.body);
        ids.push(id);
    }
    let stored = mock.store.meta("agreement-approvals").unwrap().unwrap();
    assert!(stored.len() <= 1 << 20, "{} bytes", stored.len());
    assert_eq!(
        approval(&mut mock, BUYER, &ids[0]).error_name(),
        "ResourceNotFoundException"
    );
    assert_eq!(
        approval(&mut mock, BUYER, &ids[189]).body["buyerAgreementApproval"]["status"],
        "REJECTED"
    );
}

#[test]
fn every_plan_is_started_once_and_a_level_waits_for_its_required_count() {
    let mut mock = world();
    let plans = json!({"approvalPlans": [
        {"name": "Finance", "administrators": [ADMIN], "levels": [{"requiredApprovals": 2, "approvers": [
            {"emailAddress": "a@example.com"}, {"emailAddress": "b@example.com"}, {"emailAddress": "c@example.com"}]}]},
        {"name": "Legal", "administrators": [ADMIN], "levels": [{"approvers": [{"organizationId": "o-abcdefghij"}]}]}
    ]});
    assert_eq!(mock.control("PATCH", "/settings", Some(plans)).status, 200);
    let request = request_id(&quote(&mut mock, BUYER));
    let listed = agreement(
        &mut mock,
        BUYER,
        false,
        "GetAgreementRequestApprovalPlans",
        json!({ "agreementRequestId": request }),
    );
    let references: Vec<String> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p["buyerAgreementApprovalPlan"]["planReference"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(references.len(), 2);
    let start = |mock: &mut Mock, refs: &[&String], extra: Value| {
        let inputs: Vec<Value> = refs
            .iter()
            .map(|r| json!({"buyerAgreementApprovalPlanInput": {"planReference": r}}))
            .collect();
        let mut input = json!({"agreementRequestId": request, "planInputs": inputs});
        for (k, v) in extra.as_object().unwrap() {
            input[k] = v.clone();
        }
        agreement(mock, BUYER, false, "StartAgreementApprovals", input)
    };
    let (finance, legal) = (&references[0], &references[1]);
    for (refs, extra, reason) in [
        (
            vec![finance, finance],
            json!({}),
            "DUPLICATE_PLAN_REFERENCE",
        ),
        (vec![finance], json!({}), "MISSING_PLAN_INPUTS"),
        (
            vec![finance, legal],
            json!({"purchaseOrders": [{"chargeId": "ch-1", "purchaseOrderReference": "PO-1"}]}),
            "INVALID_PURCHASE_ORDERS",
        ),
    ] {
        let refused = start(&mut mock, &refs, extra);
        assert_eq!(refused.body["reason"], reason, "{}", refused.body);
    }
    let started = start(&mut mock, &[finance, legal], json!({}));
    assert_eq!(started.status, 200, "{}", started.body);
    let ids: Vec<String> = started.body["approvalSummaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["agreementApprovalId"].as_str().unwrap().to_string())
        .collect();
    let outcome_id = |mock: &mut Mock, n: usize| {
        let read = approval(mock, ADMIN, &ids[0]).body["buyerAgreementApproval"].clone();
        read["levels"][0]["groups"][0]["approvers"][n]["emailApproverOutcome"]["approverOutcomeId"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // Two of three approve the Finance level: one is not enough.
    let first = outcome_id(&mut mock, 0);
    let approved = decide(
        &mut mock,
        ADMIN,
        "AcceptAgreementApproval",
        json!({"agreementApprovalId": ids[0], "approverOutcomeIdToOverride": first}),
    );
    assert_eq!(approved.status, 200, "{}", approved.body);
    let again = decide(
        &mut mock,
        ADMIN,
        "AcceptAgreementApproval",
        json!({"agreementApprovalId": ids[0], "approverOutcomeIdToOverride": first}),
    );
    assert_eq!(again.error_name(), "ConflictException", "{}", again.body);
    let read = approval(&mut mock, BUYER, &ids[0]).body["buyerAgreementApproval"].clone();
    assert_eq!(read["status"], "PENDING_APPROVAL");
    let second = outcome_id(&mut mock, 1);
    decide(
        &mut mock,
        ADMIN,
        "AcceptAgreementApproval",
        json!({"agreementApprovalId": ids[0], "approverOutcomeIdToOverride": second}),
    );
    let read = approval(&mut mock, BUYER, &ids[0]).body["buyerAgreementApproval"].clone();
    assert_eq!(read["status"], "APPROVED");
    let third = &read["levels"][0]["groups"][0]["approvers"][2]["emailApproverOutcome"];
    assert_eq!(third["status"], "SKIPPED");
    // The request waits for Legal too; Legal's rejection rejects it.
    assert_eq!(request_status(&mut mock, &request), "PENDING_APPROVAL");
    let rejected = decide(
        &mut mock,
        ADMIN,
        "RejectAgreementApproval",
        json!({"agreementApprovalId": ids[1], "note": "terms"}),
    );
    assert_eq!(rejected.status, 200, "{}", rejected.body);
    assert_eq!(request_status(&mut mock, &request), "REJECTED");
    let by_request = agreement(
        &mut mock,
        BUYER,
        false,
        "ListAgreementApprovals",
        json!({"partyType": "REQUESTER", "agreementRequestId": request}),
    );
    let statuses: Vec<&Value> = by_request.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["status"])
        .collect();
    assert_eq!(statuses, [&json!("REJECTED"), &json!("APPROVED")]);
}
