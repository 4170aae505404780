//! Buyer approvals: `GetAgreementRequestApprovalPlans` (the plans the `approvalPlans` setting
//! applies to a request), `StartAgreementApprovals` (one approval per plan: the request is
//! `PENDING_APPROVAL`), `GetAgreementApproval` and `ListAgreementApprovals` (its requester, or
//! the organization's administrators), and `Accept…`/`RejectAgreementApproval` (an
//! administrator decides, as the organization approver or on another approver's behalf).
//! When every approval of a request is approved, the request is `APPROVED` and can be
//! accepted; one rejection rejects it (its other approvals are cancelled); an approval left
//! undecided for `APPROVAL_DAYS` expires by the namespace clock and cancels the request.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::{
    check_catalog, conflict_on, json_size, load_document, new_id, page, requester, save_document,
    save_grown, text, with_next, Answer, Call, Evictable,
};
use crate::domain::agreement::{AgreementRequest, AgreementRequests, RequestStatus};
use crate::domain::approval::{
    AgreementApproval, AgreementApprovals, ApprovalPlan, ApprovalStatus, ApproverKind,
    DecisionError, OutcomeStatus,
};
use crate::domain::ids::IdSource;
use crate::domain::kept::forget_oldest_settled;
use crate::domain::offer::Offer;
use crate::domain::time::Instant;
use crate::error::ServiceError;
use crate::model::error::ModelError;
use crate::model::ModelService;
use crate::ops::shapes::epoch_seconds;
use crate::store::{documents, Store};

const SERVICE: ModelService = ModelService::Agreement;

impl Evictable for AgreementApprovals {
    fn evict_oldest_settled(&mut self, spare: &str) -> Option<usize> {
        let gone = forget_oldest_settled(&mut self.0, |r| r.agreement_request_id == spare)?;
        json_size(&gone).ok()
    }
}
const APPROVAL_TYPE: &str = "BUYER_AGREEMENT_APPROVAL";

fn invalid(reason: &str, field: &str, message: String) -> ModelError {
    ModelError::validation(SERVICE, reason, message.clone(), &[(field, &message)])
}

/// The caller's request `id` (the wildcard caller's: any), else `ResourceNotFoundException`.
fn own_request(
    requests: &AgreementRequests,
    call: &Call<'_>,
    id: &str,
) -> Result<AgreementRequest, ModelError> {
    requests
        .get(id)
        .filter(|r| call.caller.account.is_none() || r.requester == requester(call))
        .cloned()
        .ok_or_else(|| {
            ModelError::not_found(
                SERVICE,
                "AgreementRequest",
                id,
                format!("Agreement request {id} was not found: no request of the caller in this namespace has that id"),
            )
        })
}

/// The plans of the `approvalPlans` setting that apply to `request`.
fn plans_for<'a>(call: &'a Call<'_>, request: &AgreementRequest) -> Vec<&'a ApprovalPlan> {
    call.settings
        .approval_plans
        .iter()
        .filter(|p| p.applies_to(&request.requester))
        .collect()
}

fn approver(kind: &ApproverKind) -> Value {
    match kind {
        ApproverKind::Email { address, name } => {
            let mut out = json!({ "emailAddress": address });
            if let Some(n) = name {
                out["name"] = json!(n);
            }
            json!({ "emailApprover": out })
        }
        ApproverKind::ProcurementTool { name } => {
            json!({"procurementToolApprover": {"name": name}})
        }
        ApproverKind::Organization { organization_id } => {
            json!({"awsOrganizationAdminApprover": {"organizationId": organization_id}})
        }
    }
}

/// `GetAgreementRequestApprovalPlans` (the requester's).
pub fn plans<S: Store + ?Sized>(input: &Map<String, Value>, call: &Call<'_>, store: &S) -> Answer {
    let requests: AgreementRequests = load_document(store)?;
    let request = own_request(&requests, call, text(input, "agreementRequestId"))?;
    let plans = plans_for(call, &request);
    if plans.is_empty() {
        return Err(invalid(
            "INCOMPATIBLE_AGREEMENT_REQUEST",
            "agreementRequestId",
            format!("Agreement request {} needs no approval: no approval plan of the namespace's approvalPlans setting applies to its buyer", request.id),
        ));
    }
    let items: Vec<Value> = plans
        .iter()
        .map(|p| {
            let levels: Vec<Value> = p
                .levels
                .iter()
                .map(|l| {
                    let approvers: Vec<Value> = l
                        .approvers
                        .iter()
                        .filter_map(|a| a.kind().ok())
                        .map(|k| approver(&k))
                        .collect();
                    let mut level = json!({"groups": [{
                        "approvalCriteria": {"requiredApprovalCount": l.required_approvals},
                        "approvers": approvers,
                    }]});
                    if let Some(n) = &l.name {
                        level["name"] = json!(n);
                    }
                    level
                })
                .collect();
            json!({"buyerAgreementApprovalPlan": {
                "planReference": p.reference(), "name": p.name, "levels": levels,
            }})
        })
        .collect();
    let listing = format!("GetAgreementRequestApprovalPlans\n{}", request.id);
    let (items, next) = page(SERVICE, items, input, call, &listing, 10)?;
    Ok(with_next(json!({ "items": items }), next))
}

fn summary(a: &AgreementApproval) -> Value {
    json!({
        "approvalType": APPROVAL_TYPE,
        "agreementRequestId": a.agreement_request_id,
        "agreementApprovalId": a.id,
        "name": a.name,
        "status": a.status.name(),
        "createdAt": epoch_seconds(a.created_at),
        "updatedAt": epoch_seconds(a.updated_at),
        "startedAt": epoch_seconds(a.created_at),
        "expiresAt": epoch_seconds(a.expires_at),
        "approvalNeededBy": epoch_seconds(a.expires_at),
    })
}

/// `StartAgreementApprovals` (the requester's): one approval per plan that applies, every
/// one of them named once.
pub fn start<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
    ids: &mut dyn IdSource,
) -> Answer {
    let mut requests: AgreementRequests = load_document(store)?;
    let request = own_request(&requests, call, text(input, "agreementRequestId"))?;
    if input.contains_key("purchaseOrders") {
        return Err(invalid(
            "INVALID_PURCHASE_ORDERS",
            "purchaseOrders",
            "An agreement request of the mock has no charges before it is accepted: give purchase orders with UpdatePurchaseOrders once the agreement is made".into(),
        ));
    }
    if request.status != RequestStatus::Draft {
        return Err(conflict_on(
            "AgreementRequest",
            &request.id,
            format!(
                "Agreement request {} is {}: approvals start for a DRAFT request",
                request.id,
                request.status.name()
            ),
        ));
    }
    let plans = plans_for(call, &request);
    let mut chosen = Vec::new();
    let mut seen = BTreeSet::new();
    for plan_input in input
        .get("planInputs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(given) = plan_input.get("buyerAgreementApprovalPlanInput") else {
            return Err(invalid(
                "INVALID_PLAN_INPUTS",
                "planInputs",
                "Each plan input is a buyerAgreementApprovalPlanInput".into(),
            ));
        };
        let reference = given["planReference"].as_str().unwrap_or_default();
        if !seen.insert(reference.to_string()) {
            return Err(invalid(
                "DUPLICATE_PLAN_REFERENCE",
                "planInputs",
                format!("Plan {reference} is named twice"),
            ));
        }
        let Some(plan) = plans.iter().find(|p| p.reference() == reference) else {
            return Err(invalid(
                "INVALID_PLAN_INPUTS",
                "planInputs",
                format!("Plan {reference} is not a plan of request {} (GetAgreementRequestApprovalPlans lists them)", request.id),
            ));
        };
        let note = given["requesterNote"].as_str().map(str::to_string);
        chosen.push((*plan, note));
    }
    if let Some(missing) = plans.iter().find(|p| !seen.contains(&p.reference())) {
        return Err(invalid(
            "MISSING_PLAN_INPUTS",
            "planInputs",
            format!(
                "Plan {} ({}) applies to request {}: start every plan GetAgreementRequestApprovalPlans lists",
                missing.reference(),
                missing.name,
                request.id
            ),
        ));
    }
    let mut started = Vec::new();
    for (plan, note) in chosen {
        let id = new_id("apr-", ids, 25)?;
        let mut failed = None;
        let mut outcome_id = || match new_id("aprout-", ids, 25) {
            Ok(id) => id,
            Err(e) => {
                failed = Some(e);
                String::new()
            }
        };
        let approval = AgreementApproval::start(
            id,
            plan,
            &request.id,
            &request.requester,
            note,
            call.now,
            &mut outcome_id,
        );
        if let Some(e) = failed {
            return Err(e);
        }
        started.push(approval);
    }
    let mut approvals: AgreementApprovals = load_document(store)?;
    if !approvals.add(started.clone()) {
        return Err(conflict_on(
            "AgreementRequest",
            &request.id,
            "The namespace holds 200 pending approvals, the most it keeps: decide or cancel some first".into(),
        ));
    }
    if let Some(r) = requests.get_mut(&request.id) {
        r.status = RequestStatus::PendingApproval;
    }
    save_grown(store, &mut approvals, &request.id)?;
    save_document(store, &requests)?;
    if let Some(at) = approvals.next_expiry() {
        super::schedule::note_at(store, at).map_err(|e| ModelError::of_service(SERVICE, &e))?;
    }
    let summaries: Vec<Value> = started.iter().map(summary).collect();
    Ok(json!({ "approvalSummaries": summaries }))
}

/// Whether the caller may see approval `a`: its requester, one of its administrators, or
/// the wildcard caller.
fn may_see(a: &AgreementApproval, call: &Call<'_>) -> bool {
    match call.caller.account.as_deref() {
        None => true,
        Some(account) => a.requester == account || a.administrators.iter().any(|x| x == account),
    }
}

fn not_found(id: &str) -> ModelError {
    ModelError::not_found(
        SERVICE,
        "AgreementApproval",
        id,
        format!("Agreement approval {id} was not found: no approval the caller requested or administers has that id"),
    )
}

fn outcome_view(o: &crate::domain::approval::Outcome) -> Value {
    let mut body = json!({
        "status": o.status.name(),
        "updatedAt": epoch_seconds(o.updated_at),
        "approverOutcomeId": o.id,
    });
    if let Some(n) = &o.note {
        body["note"] = json!(n);
    }
    if !o.purchase_orders.is_empty() {
        let orders: Vec<Value> = o
            .purchase_orders
            .iter()
            .map(|(charge, reference)| {
                let mut order = json!({ "chargeId": charge });
                if let Some(r) = reference {
                    order["purchaseOrderReference"] = json!(r);
                }
                order
            })
            .collect();
        body["purchaseOrders"] = json!(orders);
    }
    match &o.approver {
        ApproverKind::Email { address, name } => {
            body["emailAddress"] = json!(address);
            if let Some(n) = name {
                body["name"] = json!(n);
            }
            if let Some(p) = &o.overridden_by {
                body["overriddenBy"] = json!({ "principalArn": p });
            }
            json!({ "emailApproverOutcome": body })
        }
        ApproverKind::ProcurementTool { name } => {
            body["name"] = json!(name);
            if let Some(p) = &o.overridden_by {
                body["overriddenBy"] = json!({ "principalArn": p });
            }
            json!({ "procurementToolApproverOutcome": body })
        }
        ApproverKind::Organization { .. } => json!({ "awsOrganizationApproverOutcome": body }),
    }
}

/// `GetAgreementApproval`
pub fn get<S: Store + ?Sized>(input: &Map<String, Value>, call: &Call<'_>, store: &S) -> Answer {
    let id = text(input, "agreementApprovalId");
    let approvals: AgreementApprovals = load_document(store)?;
    let a = approvals
        .get(id)
        .filter(|a| may_see(a, call))
        .ok_or_else(|| not_found(id))?;
    let requests: AgreementRequests = load_document(store)?;
    let request = requests.get(&a.agreement_request_id);
    // The offer as the request named it (while its product is there).
    let offer = match request {
        Some(r) => {
            super::product_of(store, r)?.and_then(|p| super::offer_of(&p, r).map(|o| (p, o)))
        }
        None => None,
    };
    let levels: Vec<Value> = a
        .levels
        .iter()
        .map(|l| {
            let outcomes: Vec<Value> = l.outcomes.iter().map(outcome_view).collect();
            let mut level = json!({"groups": [{
                "approvalCriteria": {"requiredApprovalCount": l.required_approvals},
                "approvers": outcomes,
            }]});
            if let Some(n) = &l.name {
                level["name"] = json!(n);
            }
            level
        })
        .collect();
    let mut plan_input = json!({ "planReference": a.plan_reference });
    if let Some(note) = &a.requester_note {
        plan_input["requesterNote"] = json!(note);
    }
    let requester_account =
        match a.requester.len() == 12 && a.requester.bytes().all(|b| b.is_ascii_digit()) {
            true => a.requester.clone(),
            false => "000000000000".to_string(),
        };
    let (proposer, proposal) = match &offer {
        Some((product, offer)) => (
            json!({"accountId": offer.proposer, "legalName": format!("Seller {} (metering-mock)", offer.proposer)}),
            proposal_summary(product.product_code.as_ref(), offer),
        ),
        None => (
            json!({"accountId": "000000000000", "legalName": "Unknown seller (the request or its product is gone)"}),
            json!({"offerId": request.map_or("unknown", |r| r.offer_id.as_str()), "visibilityScope": "PUBLIC", "resources": []}),
        ),
    };
    let mut out = summary(a);
    out["requester"] = json!({ "accountId": requester_account });
    out["levels"] = json!(levels);
    out["planInput"] = plan_input;
    out["proposer"] = proposer;
    out["proposalSummary"] = proposal;
    Ok(json!({ "buyerAgreementApproval": out }))
}

fn proposal_summary(product_code: &str, offer: &Offer) -> Value {
    json!({
        "offerId": offer.offer_id,
        "resources": [{"id": offer.product_id, "type": "SaaSProduct", "name": product_code, "deployedOnAws": "DEPLOYED"}],
        "visibilityScope": match offer.private { Some(_) => "PRIVATE", None => "PUBLIC" },
    })
}

/// `ListAgreementApprovals`: those the caller started (`REQUESTER`) or administers
/// (`AWS_ORGANIZATION_ADMIN`), newest first, by request and status.
pub fn list<S: Store + ?Sized>(input: &Map<String, Value>, call: &Call<'_>, store: &S) -> Answer {
    check_catalog(input)?;
    let party = text(input, "partyType");
    let (wanted, status, kind) = (
        text(input, "agreementRequestId"),
        text(input, "status"),
        text(input, "approvalType"),
    );
    let account = call.caller.account.as_deref();
    let approvals: AgreementApprovals = load_document(store)?;
    let items: Vec<Value> = approvals
        .0
        .iter()
        .rev()
        .filter(|a| match (party, account) {
            (_, None) => true,
            ("REQUESTER", Some(me)) => a.requester == me,
            (_, Some(me)) => a.administrators.iter().any(|x| x == me),
        })
        .filter(|a| wanted.is_empty() || a.agreement_request_id == wanted)
        .filter(|a| status.is_empty() || a.status.name() == status)
        .filter(|_| kind.is_empty() || kind == APPROVAL_TYPE)
        .map(summary)
        .collect();
    let listing = format!(
        "ListAgreementApprovals\n{}\n{party}\n{wanted}\n{status}\n{kind}",
        call.caller.identity()
    );
    let (items, next) = page(SERVICE, items, input, call, &listing, 20)?;
    Ok(with_next(json!({ "items": items }), next))
}

/// The decision's approval, checked: the caller is one of its administrators (or the
/// wildcard caller); the requester alone may not decide.
fn decidable<'a>(
    approvals: &'a mut AgreementApprovals,
    call: &Call<'_>,
    id: &str,
) -> Result<&'a mut AgreementApproval, ModelError> {
    let a = approvals
        .get_mut(id)
        .filter(|a| may_see(a, call))
        .ok_or_else(|| not_found(id))?;
    if let Some(me) = call.caller.account.as_deref() {
        if !a.administrators.iter().any(|x| x == me) {
            return Err(super::access_denied(format!(
                "Agreement approval {id}: only an administrator of the buyer's organization (the plan's administrators) decides"
            )));
        }
    }
    Ok(a)
}

fn decision_error(e: DecisionError, id: &str, named: Option<&str>) -> ModelError {
    let field = "approverOutcomeIdToOverride";
    match e {
        DecisionError::Closed => invalid(
            "CLOSED_AGREEMENT_APPROVAL",
            "agreementApprovalId",
            format!("Agreement approval {id} is no longer PENDING_APPROVAL"),
        ),
        DecisionError::Queued => invalid(
            "QUEUED_AGREEMENT_APPROVAL",
            field,
            format!("Approver {} is at a level not reached yet: the levels before it decide first", named.unwrap_or_default()),
        ),
        DecisionError::NoSuchApprover => invalid(
            "INVALID_APPROVER_OUTCOME_ID_TO_OVERRIDE",
            field,
            match named {
                Some(n) => format!("Approver {n} is not an approver of agreement approval {id}"),
                None => format!("The level being decided of agreement approval {id} has no organization approver: name the approver to decide for in approverOutcomeIdToOverride"),
            },
        ),
        DecisionError::Decided => conflict_on(
            "AgreementApproval",
            id,
            format!("Approver {} has decided already (or was skipped)", named.unwrap_or("of the organization")),
        ),
    }
}

/// A decision's input (`member` of the operation's input), the approval it decides on, and
/// the approver it decides for, if named.
type Decision<'a> = (&'a Map<String, Value>, &'a str, Option<&'a str>);

fn decision<'a>(input: &'a Map<String, Value>, member: &str) -> Result<Decision<'a>, ModelError> {
    let given = input
        .get(member)
        .and_then(Value::as_object)
        .ok_or_else(|| {
            invalid(
                "MISSING_AGREEMENT_APPROVAL_ID",
                member,
                format!("{member} names the approval"),
            )
        })?;
    let named = given
        .get("approverOutcomeIdToOverride")
        .and_then(Value::as_str);
    Ok((given, text(given, "agreementApprovalId"), named))
}

/// The principal deciding on another approver's behalf.
fn principal(call: &Call<'_>, named: Option<&str>) -> Option<String> {
    named.map(|_| match call.caller.account.as_deref() {
        Some(account) => format!("arn:aws:iam::{account}:root"),
        None => "arn:aws:iam::000000000000:root".to_string(),
    })
}

/// `AcceptAgreementApproval`
pub fn accept<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
) -> Answer {
    let (given, id, named) = decision(input, "buyerAgreementApprovalApproverInput")?;
    let note = given
        .get("note")
        .and_then(Value::as_str)
        .map(str::to_string);
    let orders: Vec<(String, Option<String>)> = given
        .get("purchaseOrders")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|o| {
            let charge = o["chargeId"].as_str().unwrap_or_default().to_string();
            (
                charge,
                o["purchaseOrderReference"].as_str().map(str::to_string),
            )
        })
        .collect();
    if orders.iter().any(|(_, r)| {
        r.as_deref().is_some_and(|r| {
            r.chars().count() > crate::domain::contract::MAX_PURCHASE_ORDER_REFERENCE_CHARS
        })
    }) {
        return Err(invalid(
            "INVALID_PURCHASE_ORDERS",
            "purchaseOrders",
            "A purchase order reference is at most 200 characters here".into(),
        ));
    }
    let mut approvals: AgreementApprovals = load_document(store)?;
    let a = decidable(&mut approvals, call, id)?;
    a.approve(named, principal(call, named), note, orders, call.now)
        .map_err(|e| decision_error(e, id, named))?;
    let request_id = a.agreement_request_id.clone();
    save_grown(store, &mut approvals, &request_id)?;
    // Every approval of the request approved: it can be accepted.
    let all = approvals
        .0
        .iter()
        .filter(|x| x.agreement_request_id == request_id)
        .all(|x| x.status == ApprovalStatus::Approved);
    if all {
        set_request(store, &request_id, RequestStatus::Approved)?;
    }
    Ok(json!({}))
}

/// `RejectAgreementApproval`: the approval and its request are rejected, the request's other
/// approvals cancelled.
pub fn reject<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
) -> Answer {
    let (given, id, named) = decision(input, "buyerAgreementApprovalRejectionInput")?;
    let note = text(given, "note").to_string();
    let mut approvals: AgreementApprovals = load_document(store)?;
    let a = decidable(&mut approvals, call, id)?;
    a.reject(named, principal(call, named), note, call.now)
        .map_err(|e| decision_error(e, id, named))?;
    let request_id = a.agreement_request_id.clone();
    for other in approvals.of_request(&request_id) {
        other.close(ApprovalStatus::Cancelled, OutcomeStatus::Skipped, call.now);
    }
    save_grown(store, &mut approvals, &request_id)?;
    set_request(store, &request_id, RequestStatus::Rejected)?;
    Ok(json!({}))
}

/// Sets request `id`'s status, if it is still waiting for its approvals.
fn set_request<S: Store + ?Sized>(
    store: &mut S,
    id: &str,
    status: RequestStatus,
) -> Result<(), ModelError> {
    let mut requests: AgreementRequests = load_document(store)?;
    if let Some(r) = requests
        .get_mut(id)
        .filter(|r| r.status == RequestStatus::PendingApproval)
    {
        r.status = status;
        save_document(store, &requests)?;
    }
    Ok(())
}

/// Ends the pending approvals of request `id` with `status` (the request was cancelled).
pub fn close_for_request<S: Store + ?Sized>(
    store: &mut S,
    id: &str,
    status: ApprovalStatus,
    now: Instant,
) -> Result<(), ModelError> {
    let mut approvals: AgreementApprovals = load_document(store)?;
    let before = approvals.clone();
    for a in approvals.of_request(id) {
        a.close(status, OutcomeStatus::Skipped, now);
    }
    if approvals != before {
        save_document(store, &approvals)?;
    }
    Ok(())
}

/// Expires the approvals still pending at their `expiresAt` by namespace time `at`: their
/// requests are cancelled, with the requests' other approvals. Returns how many expired.
pub fn expire_due<S: Store + ?Sized>(store: &mut S, at: Instant) -> Result<usize, ServiceError> {
    let mut approvals: AgreementApprovals = documents::load(store)?;
    let due: Vec<(String, String, Instant)> = approvals
        .0
        .iter()
        .filter(|a| a.is_pending() && a.expires_at <= at)
        .map(|a| (a.id.clone(), a.agreement_request_id.clone(), a.expires_at))
        .collect();
    if due.is_empty() {
        return Ok(0);
    }
    let mut requests: AgreementRequests = documents::load(store)?;
    for (id, request_id, when) in &due {
        if let Some(a) = approvals.get_mut(id) {
            a.close(ApprovalStatus::Expired, OutcomeStatus::Expired, *when);
        }
        for other in approvals.of_request(request_id) {
            other.close(ApprovalStatus::Cancelled, OutcomeStatus::Skipped, *when);
        }
        if let Some(r) = requests
            .get_mut(request_id)
            .filter(|r| r.status == RequestStatus::PendingApproval)
        {
            r.status = RequestStatus::Cancelled;
        }
    }
    documents::save(store, &approvals)?;
    documents::save(store, &requests)?;
    Ok(due.len())
}
