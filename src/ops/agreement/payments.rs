//! Payment requests: under a private offer's variable payment term the seller (proposer)
//! asks the buyer to pay an amount (`SendAgreementPaymentRequest`) and may withdraw the
//! request (`CancelAgreementPaymentRequest`); the buyer (acceptor) approves or rejects it
//! (`Accept…`/`RejectAgreementPaymentRequest`); either party reads them (`Get…`,
//! `ListAgreementPaymentRequests`). An approval — or the automatic one after the buyer's
//! `expirationDuration`, by the namespace clock — makes a charge of the agreement
//! (`ListAgreementCharges`). Pending requests hold their amount: the approved and pending
//! ones never add up to more than the term's `maxTotalChargeAmount`. AWS documents no event
//! for payment requests, so none is sent.

use serde_json::{json, Map, Value};

use super::agreements::{visible, visible_for, AGREEMENT_TYPE};
use super::{
    agreement, agreement_parties, check_catalog, check_decision, conflict_on, is_party_as,
    json_size, load_document, new_id, page, party_type, require_proposer, save_document,
    save_grown, text, with_next, Answer, Call, Decided, Evictable, Idempotent, Sender,
};
use crate::domain::agreement as rules;
use crate::domain::catalogue::Product;
use crate::domain::contract::{Charge, MAX_CHARGES, MAX_PURCHASE_ORDER_REFERENCE_CHARS};
use crate::domain::ids::IdSource;
use crate::domain::kept::forget_oldest_settled;
use crate::domain::offer::{Offer, Term};
use crate::domain::payment::{
    charge_cents, dollars, PaymentRequest, PaymentRequests, PaymentStatus, MAX_PAYMENT_REQUESTS,
};
use crate::domain::time::Instant;
use crate::error::ServiceError;
use crate::model::error::ModelError;
use crate::model::ModelService;
use crate::ops::shapes::epoch_seconds;
use crate::store::{documents, Store};

const SERVICE: ModelService = ModelService::Agreement;

impl Evictable for PaymentRequests {
    fn evict_oldest_settled(&mut self, spare: &str) -> Option<usize> {
        let gone = forget_oldest_settled(&mut self.0, |r| r.id == spare)?;
        json_size(&gone).ok()
    }
}
const RESOURCE: &str = "PaymentRequest";

impl Idempotent for PaymentRequest {
    fn id(&self) -> &str {
        &self.id
    }
    fn requester(&self) -> &str {
        &self.requester
    }
    fn client_token(&self) -> Option<&str> {
        self.client_token.as_deref()
    }
    fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

/// The request as `Get` answers it (members without a value left out); each other
/// operation's output lacks some members (`without`).
fn view(r: &PaymentRequest, without: &[&str]) -> Value {
    let mut out = json!({
        "paymentRequestId": r.id,
        "agreementId": r.agreement_id,
        "status": r.status.name(),
        "name": r.name,
        "chargeAmount": r.charge_amount,
        "currencyCode": "USD",
        "createdAt": epoch_seconds(r.created_at),
        "updatedAt": epoch_seconds(r.updated_at),
    });
    if let Some(d) = &r.description {
        out["description"] = json!(d);
    }
    if let Some(m) = &r.status_message {
        out["statusMessage"] = json!(m);
    }
    if let Some(c) = &r.charge_id {
        out["chargeId"] = json!(c);
    }
    if let Some(map) = out.as_object_mut() {
        for member in without {
            map.remove(*member);
        }
    }
    out
}

/// `SendAgreementPaymentRequest`'s output has neither `updatedAt` nor `statusMessage`, nor
/// yet a charge.
const SENT: &[&str] = &["updatedAt", "statusMessage", "chargeId"];
/// `Accept…` and `Cancel…` answer without `statusMessage` and `chargeId` (`DECIDED`);
/// `Reject…` without `chargeId`.
const DECIDED: &[&str] = &["statusMessage", "chargeId"];
const REJECTED: &[&str] = &["chargeId"];

fn not_found(id: &str) -> ModelError {
    ModelError::not_found(
        SERVICE,
        RESOURCE,
        id,
        format!("Payment request {id} was not found: no request of an agreement the caller is a party to has that id (the namespace keeps its 100 most recent)"),
    )
}

fn conflict(id: &str, message: String) -> ModelError {
    conflict_on(RESOURCE, id, message)
}

fn invalid(reason: &str, field: &str, message: String) -> ModelError {
    ModelError::validation(SERVICE, reason, message.clone(), &[(field, &message)])
}

/// What the agreement's payment requests have charged and hold, in cents: its charges made
/// by approved requests, and its pending requests.
fn committed(product: &Product, i: usize, requests: &PaymentRequests, agreement_id: &str) -> u128 {
    let charged: u128 = product.customers[i]
        .charges
        .iter()
        .filter(|c| c.payment_request_id.is_some())
        .filter_map(Charge::cents)
        .sum();
    let pending: u128 = requests
        .pending_for(agreement_id)
        .map(PaymentRequest::cents)
        .sum();
    charged + pending
}

/// How many payment requests of agreement `agreement_id` are pending (each holds a place
/// among its charges).
pub fn pending_count<S: Store + ?Sized>(
    store: &S,
    agreement_id: &str,
) -> Result<usize, ModelError> {
    let requests: PaymentRequests = load_document(store)?;
    Ok(requests.pending_for(agreement_id).count())
}

/// `SendAgreementPaymentRequest` (the proposer's).
pub fn send<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
    ids: &mut dyn IdSource,
) -> Answer {
    let agreement_id = text(input, "agreementId");
    let (product, i) = visible(store, call, agreement_id)?;
    require_proposer(call, &product, || {
        format!("Only the proposer of agreement {agreement_id} sends a payment request")
    })?;
    let sender = Sender::of(call, input);
    let mut requests: PaymentRequests = load_document(store)?;
    if let Some(earlier) = sender.retried(&requests.0, RESOURCE)? {
        return Ok(view(earlier, SENT));
    }
    let customer = &product.customers[i];
    if !rules::is_active(customer, call.now) {
        return Err(invalid(
            "INACTIVE_AGREEMENT",
            "agreementId",
            format!(
                "Agreement {agreement_id} is {}: payment requests are sent for an active agreement",
                rules::status(customer, call.now)
            ),
        ));
    }
    let term_id = text(input, "termId");
    let offer = Offer::of(&product, customer);
    let Some(Term::VariablePayment { max_total, .. }) = offer.term(term_id) else {
        return Err(invalid(
            "INVALID_TERM_ID",
            "termId",
            format!("Term {term_id} is not a variable payment term of agreement {agreement_id} (GetAgreementTerms lists its terms; only a private offer with a variablePayment has one)"),
        ));
    };
    let amount = text(input, "chargeAmount");
    let Some(cents) = charge_cents(amount) else {
        return Err(invalid(
            "INVALID_CHARGE_AMOUNT",
            "chargeAmount",
            format!("chargeAmount {amount} is not a positive amount of whole cents of USD (\"1250.00\")"),
        ));
    };
    let max = crate::domain::contract::cents(max_total).unwrap_or_default();
    let held = committed(&product, i, &requests, agreement_id);
    let available = max.saturating_sub(held);
    if cents > available {
        return Err(invalid(
            "INVALID_CHARGE_AMOUNT",
            "chargeAmount",
            format!(
                "chargeAmount {} exceeds the available balance of term {term_id}: {} of its maxTotalChargeAmount {max_total} (approved and pending requests hold {})",
                dollars(cents),
                dollars(available),
                dollars(held)
            ),
        ));
    }
    let pending = requests.pending_for(agreement_id).count();
    if customer.charges.len() + pending + usize::from(customer.trial_charge.is_some())
        >= MAX_CHARGES
    {
        // The operation's model lists no quota error: the conflict is with what it holds.
        return Err(conflict(
            agreement_id,
            format!("Agreement {agreement_id} has {MAX_CHARGES} charges and pending payment requests, the most the mock keeps for one agreement"),
        ));
    }
    let auto_approve_at = customer
        .variable_payment
        .as_ref()
        .and_then(|c| c.expiration_seconds())
        .map(|s| call.now.plus_seconds(s));
    let request = PaymentRequest {
        id: new_id("pr-", ids, 25)?,
        agreement_id: agreement_id.to_string(),
        name: text(input, "name").to_string(),
        description: input
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_string),
        charge_amount: dollars(cents),
        status: PaymentStatus::PendingApproval,
        status_message: None,
        charge_id: None,
        created_at: call.now,
        updated_at: call.now,
        auto_approve_at,
        requester: sender.who,
        client_token: sender.token,
        fingerprint: sender.print,
    };
    if requests.0.len() >= MAX_PAYMENT_REQUESTS {
        // Requests of agreements that ended make room before a full namespace refuses (the
        // dispatch's sweep did so too, unless it stopped at its cap).
        close_ended(store, call.now).map_err(|e| ModelError::of_service(SERVICE, &e))?;
        requests = load_document(store)?;
    }
    if !requests.add(request.clone()) {
        return Err(conflict(
            agreement_id,
            "The namespace holds 100 pending payment requests, the most it keeps: settle or withdraw one first".to_string(),
        ));
    }
    save_grown(store, &mut requests, &request.id)?;
    if let Some(at) = auto_approve_at {
        super::schedule::note_at(store, at).map_err(|e| ModelError::of_service(SERVICE, &e))?;
    }
    Ok(view(&request, SENT))
}

/// The request named by the input, with its agreement, if the caller is a party to it.
fn party_request<S: Store + ?Sized>(
    store: &S,
    call: &Call<'_>,
    input: &Map<String, Value>,
) -> Result<(PaymentRequests, PaymentRequest, Product, usize), ModelError> {
    let (id, agreement_id) = (text(input, "paymentRequestId"), text(input, "agreementId"));
    let requests: PaymentRequests = load_document(store)?;
    let request = requests
        .get(id)
        .filter(|r| r.agreement_id == agreement_id)
        .cloned()
        .ok_or_else(|| not_found(id))?;
    let (product, i) = visible_for(store, call, agreement_id, || not_found(id))?;
    Ok((requests, request, product, i))
}

/// `GetAgreementPaymentRequest`
pub fn get<S: Store + ?Sized>(input: &Map<String, Value>, call: &Call<'_>, store: &S) -> Answer {
    let (_, request, _, _) = party_request(store, call, input)?;
    Ok(view(&request, &[]))
}

/// `ListAgreementPaymentRequests`: the requests on agreements the caller proposed
/// (`partyType` `Proposer`) or accepted (`Acceptor`), newest first, pages of 50.
pub fn list<S: Store + ?Sized>(input: &Map<String, Value>, call: &Call<'_>, store: &S) -> Answer {
    check_catalog(input)?;
    let proposer = party_type(input)?;
    let (wanted, status, kind) = (
        text(input, "agreementId"),
        text(input, "status"),
        text(input, "agreementType"),
    );
    let caller = call.caller.account.as_deref();
    let mut items = Vec::new();
    if kind.is_empty() || kind == AGREEMENT_TYPE {
        let parties = agreement_parties(store)?;
        let requests: PaymentRequests = load_document(store)?;
        for r in requests.0.iter().rev() {
            let chosen = (wanted.is_empty() || r.agreement_id == wanted)
                && (status.is_empty() || r.status.name() == status);
            if chosen && is_party_as(&parties, &r.agreement_id, caller, proposer) {
                items.push(view(r, &["description", "statusMessage"]));
            }
        }
    }
    let listing = format!(
        "ListAgreementPaymentRequests\n{}\n{proposer}\n{wanted}\n{status}\n{kind}",
        call.caller.identity()
    );
    let (items, next) = page(SERVICE, items, input, call, &listing, 50)?;
    Ok(with_next(json!({ "items": items }), next))
}

/// Moves a pending request to `status`: the proposer withdraws it (`Cancelled`), the
/// acceptor approves it (with its purchase order `reference`) or rejects it (`message`).
fn decide<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
    ids: &mut dyn IdSource,
    status: PaymentStatus,
    message: Option<&str>,
) -> Result<PaymentRequest, ModelError> {
    let (mut requests, request, product, i) = party_request(store, call, input)?;
    let decided = Decided {
        resource_type: RESOURCE,
        kind: "Payment request",
        id: &request.id,
        agreement_id: &request.agreement_id,
        status: request.status.name(),
        pending: request.is_pending(),
    };
    let (as_proposer, approving) = (
        status == PaymentStatus::Cancelled,
        status == PaymentStatus::Approved,
    );
    check_decision(call, &product, i, &decided, as_proposer, approving)?;
    let reference = text(input, "purchaseOrderReference");
    if reference.chars().count() > MAX_PURCHASE_ORDER_REFERENCE_CHARS {
        return Err(invalid(
            "INVALID_PURCHASE_ORDER_REFERENCE",
            "purchaseOrderReference",
            format!("A purchase order reference is at most {MAX_PURCHASE_ORDER_REFERENCE_CHARS} characters here"),
        ));
    }
    let internal = |e: ServiceError| ModelError::of_service(SERVICE, &e);
    let decided = match status {
        PaymentStatus::Approved => {
            let reference = (!reference.is_empty()).then(|| reference.to_string());
            approve(
                store,
                &mut requests,
                product,
                i,
                &request.id,
                reference,
                None,
                call.now,
                ids,
            )
            .map_err(internal)?
        }
        _ => settle(&mut requests, &request.id, status, message, None, call.now),
    }
    .ok_or_else(|| not_found(&request.id))?;
    save_document(store, &requests)?;
    Ok(decided)
}

/// Sets request `id`'s status, message and charge at `now`; returns it as it now is
/// (`None`: no such request).
fn settle(
    requests: &mut PaymentRequests,
    id: &str,
    status: PaymentStatus,
    message: Option<&str>,
    charge_id: Option<String>,
    now: Instant,
) -> Option<PaymentRequest> {
    let r = requests.get_mut(id)?;
    r.status = status;
    r.status_message = message.map(str::to_string);
    r.charge_id = charge_id;
    r.updated_at = now;
    Some(r.clone())
}

/// Approves request `id` at `now`: a charge of its amount on customer `i`'s agreement (with
/// the buyer's purchase order `reference`), stored with the product.
#[allow(clippy::too_many_arguments)]
fn approve<S: Store + ?Sized>(
    store: &mut S,
    requests: &mut PaymentRequests,
    mut product: Product,
    i: usize,
    id: &str,
    reference: Option<String>,
    message: Option<&str>,
    now: Instant,
    ids: &mut dyn IdSource,
) -> Result<Option<PaymentRequest>, ServiceError> {
    let Some(amount) = requests.get(id).map(|r| r.charge_amount.clone()) else {
        return Ok(None);
    };
    let charge_id = new_id("ch-", ids, 25).map_err(|e| ServiceError::internal(e.message))?;
    let mut customer = product.customers[i].clone();
    customer.charges.push(Charge {
        id: charge_id.clone(),
        revision: 1,
        amount,
        at: now,
        purchase_order_reference: reference,
        payment_request_id: Some(id.to_string()),
    });
    product.customers[i] = customer;
    store.put_product(&product)?;
    let status = PaymentStatus::Approved;
    Ok(settle(requests, id, status, message, Some(charge_id), now))
}

/// `CancelAgreementPaymentRequest` (the proposer withdraws its request).
pub fn withdraw<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
    ids: &mut dyn IdSource,
) -> Answer {
    let decided = decide(input, call, store, ids, PaymentStatus::Cancelled, None)?;
    Ok(view(&decided, DECIDED))
}

/// `AcceptAgreementPaymentRequest` (the acceptor approves: the agreement is charged).
pub fn accept<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
    ids: &mut dyn IdSource,
) -> Answer {
    let decided = decide(input, call, store, ids, PaymentStatus::Approved, None)?;
    Ok(view(&decided, DECIDED))
}

/// `RejectAgreementPaymentRequest`
pub fn reject<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
    ids: &mut dyn IdSource,
) -> Answer {
    let reason = input.get("rejectionReason").and_then(Value::as_str);
    let decided = decide(input, call, store, ids, PaymentStatus::Rejected, reason)?;
    Ok(view(&decided, REJECTED))
}

/// Settles the pending requests whose automatic approval is due by namespace time `at`:
/// approved (charged at their due time), or, when their agreement is no longer active,
/// cancelled. Returns how many it settled.
pub fn approve_due<S: Store + ?Sized>(
    store: &mut S,
    at: Instant,
    ids: &mut dyn IdSource,
) -> Result<usize, ServiceError> {
    let mut requests: PaymentRequests = documents::load(store)?;
    let mut due: Vec<(Instant, String, String)> = requests
        .0
        .iter()
        .filter(|r| r.is_pending())
        .filter_map(|r| {
            let when = r.auto_approve_at.filter(|&w| w <= at)?;
            Some((when, r.id.clone(), r.agreement_id.clone()))
        })
        .collect();
    due.sort();
    for (when, id, agreement_id) in &due {
        let found = agreement(store, agreement_id)
            .map_err(|_| ServiceError::internal("the products could not be read"))?;
        match found.filter(|(p, i)| rules::is_active(&p.customers[*i], *when)) {
            Some((product, i)) => {
                let message = Some(APPROVED_BY_ITSELF);
                approve(
                    store,
                    &mut requests,
                    product,
                    i,
                    id,
                    None,
                    message,
                    *when,
                    ids,
                )?;
            }
            None => {
                let status = PaymentStatus::Cancelled;
                settle(
                    &mut requests,
                    id,
                    status,
                    Some(AGREEMENT_ENDED),
                    None,
                    *when,
                );
            }
        }
    }
    documents::save(store, &requests)?;
    Ok(due.len())
}

/// Cancels the pending requests whose agreement is no longer active by `now` (cancelled,
/// expired, renewed or replaced): they can no longer be approved, and must not hold their
/// place among the kept requests.
pub fn close_ended<S: Store + ?Sized>(store: &mut S, now: Instant) -> Result<(), ServiceError> {
    let mut requests: PaymentRequests = documents::load(store)?;
    if !requests.0.iter().any(PaymentRequest::is_pending) {
        return Ok(());
    }
    let mut active = std::collections::HashSet::new();
    for product in store.products()? {
        for record in super::agreement_records(&product) {
            let customer = super::agreement_record(&product, record);
            if rules::is_active(&customer, now) {
                active.extend(rules::agreement_id(&customer));
            }
        }
    }
    let ended: Vec<String> = requests
        .0
        .iter()
        .filter(|r| r.is_pending() && !active.contains(&r.agreement_id))
        .map(|r| r.id.clone())
        .collect();
    for id in &ended {
        settle(
            &mut requests,
            id,
            PaymentStatus::Cancelled,
            Some(AGREEMENT_ENDED),
            None,
            now,
        );
    }
    if !ended.is_empty() {
        documents::save(store, &requests)?;
    }
    Ok(())
}

const APPROVED_BY_ITSELF: &str =
    "Approved automatically: the acceptor did not answer within the term's expirationDuration";
const AGREEMENT_ENDED: &str = "Cancelled: the agreement is no longer active";
