//! Cancellation requests: the seller (proposer) asks to end an agreement
//! (`SendAgreementCancellationRequest`) and may withdraw the request
//! (`CancelAgreementCancellationRequest`); the buyer (acceptor) approves or rejects it
//! (`Accept…`/`RejectAgreementCancellationRequest`); either party reads them (`Get…`,
//! `ListAgreementCancellationRequests`). An approval, or the automatic one after seven days
//! by the namespace clock, cancels the agreement as `CancelAgreement` does. Each change sends
//! `Agreement Cancellation Request <status> - Proposer` to the product's EventBridge webhooks.

use serde_json::{json, Map, Value};

use super::agreements::{visible, visible_for};
use super::{
    agreement, agreement_parties, check_catalog, check_decision, conflict_on, end_agreement,
    is_party_as, json_size, load_document, new_id, page, party_type, require_proposer,
    save_document, save_grown, text, with_next, Answer, Call, Decided, Evictable, Idempotent,
    Sender, When,
};
use crate::domain::agreement as rules;
use crate::domain::cancellation::{CancellationRequest, CancellationRequests, CancellationStatus};
use crate::domain::catalogue::Product;
use crate::domain::ids::IdSource;
use crate::domain::kept::forget_oldest_settled;
use crate::domain::notification::{cancellation_event, EventRecord};
use crate::domain::settings::Settings;
use crate::domain::time::Instant;
use crate::error::ServiceError;
use crate::model::error::ModelError;
use crate::model::ModelService;
use crate::ops::shapes::epoch_seconds;
use crate::store::{documents, Store};

const SERVICE: ModelService = ModelService::Agreement;

impl Evictable for CancellationRequests {
    fn evict_oldest_settled(&mut self, spare: &str) -> Option<usize> {
        let gone = forget_oldest_settled(&mut self.0, |r| r.id == spare)?;
        json_size(&gone).ok()
    }
}
const RESOURCE: &str = "AgreementCancellationRequest";

/// The request as `Get`, `Cancel…` and `Reject…` answer it (members without a value left
/// out).
fn view(r: &CancellationRequest) -> Value {
    let mut out = json!({
        "agreementCancellationRequestId": r.id,
        "agreementId": r.agreement_id,
        "reasonCode": r.reason_code,
        "status": r.status.name(),
        "createdAt": epoch_seconds(r.created_at),
        "updatedAt": epoch_seconds(r.updated_at),
    });
    if let Some(d) = &r.description {
        out["description"] = json!(d);
    }
    if let Some(m) = &r.status_message {
        out["statusMessage"] = json!(m);
    }
    out
}

/// The request as `Send…` and `Accept…` answer it: their outputs have no `statusMessage`.
fn view_without_message(r: &CancellationRequest) -> Value {
    let mut out = view(r);
    if let Some(map) = out.as_object_mut() {
        map.remove("statusMessage");
    }
    out
}

fn not_found(id: &str) -> ModelError {
    ModelError::not_found(
        SERVICE,
        RESOURCE,
        id,
        format!("Agreement cancellation request {id} was not found: no request of an agreement the caller is a party to has that id (the namespace keeps its 100 most recent)"),
    )
}

fn conflict(id: &str, message: String) -> ModelError {
    conflict_on(RESOURCE, id, message)
}

impl Idempotent for CancellationRequest {
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

/// Logs the request's event for `product`'s agreement customer `i`.
fn notify_request<S: Store + ?Sized>(
    store: &mut S,
    product: &Product,
    i: usize,
    request: &CancellationRequest,
    when: When<'_>,
    ids: &mut dyn IdSource,
) -> Result<(), ServiceError> {
    let When {
        now,
        host_now,
        settings,
    } = when;
    let event = cancellation_event(
        product,
        &product.customers[i],
        request,
        now,
        ids.next_uuid(),
    );
    let action = request.status.action();
    let record =
        EventRecord::eventbridge_only(action, product, vec![event], now, host_now, settings);
    store.append_event(&record)?;
    Ok(())
}

/// `SendAgreementCancellationRequest` (the proposer's).
pub fn send<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
    ids: &mut dyn IdSource,
) -> Answer {
    let agreement_id = text(input, "agreementId");
    let (product, i) = visible(store, call, agreement_id)?;
    require_proposer(call, &product, || {
        format!("Only the proposer of agreement {agreement_id} sends a cancellation request; its acceptor cancels it with CancelAgreement")
    })?;
    let sender = Sender::of(call, input);
    let mut requests: CancellationRequests = load_document(store)?;
    if let Some(earlier) = sender.retried(&requests.0, RESOURCE)? {
        return Ok(view_without_message(earlier));
    }
    let customer = &product.customers[i];
    if !rules::is_active(customer, call.now) {
        return Err(conflict(
            agreement_id,
            format!(
                "Agreement {agreement_id} is {}: only an active agreement can be cancelled",
                rules::status(customer, call.now)
            ),
        ));
    }
    if let Some(pending) = requests.pending_for(agreement_id) {
        return Err(conflict(&pending.id, format!("Agreement {agreement_id} already has a pending cancellation request, {}: cancel it first", pending.id)));
    }
    let description = input
        .get("description")
        .and_then(Value::as_str)
        .map(str::to_string);
    let request = CancellationRequest {
        id: new_id("acr-", ids, 25)?,
        agreement_id: agreement_id.to_string(),
        product_code: product.product_code.to_string(),
        reason_code: text(input, "reasonCode").to_string(),
        description,
        status: CancellationStatus::PendingApproval,
        status_message: None,
        created_at: call.now,
        updated_at: call.now,
        requester: sender.who,
        client_token: sender.token,
        fingerprint: sender.print,
    };
    if !requests.add(request.clone()) {
        // The operation's model lists no quota error: the conflict is with the pending ones.
        return Err(conflict(
            agreement_id,
            "The namespace holds 100 pending cancellation requests, the most it keeps: withdraw one first".to_string(),
        ));
    }
    save_grown(store, &mut requests, &request.id)?;
    let internal = |e: ServiceError| ModelError::of_service(SERVICE, &e);
    super::schedule::note_at(store, request.auto_approval_at()).map_err(internal)?;
    notify_request(store, &product, i, &request, When::of(call), ids).map_err(internal)?;
    Ok(view_without_message(&request))
}

/// The request `id` of agreement `agreement_id`, with the agreement, if the caller is a party.
fn party_request<S: Store + ?Sized>(
    store: &S,
    call: &Call<'_>,
    input: &Map<String, Value>,
) -> Result<(CancellationRequests, CancellationRequest, Product, usize), ModelError> {
    let (id, agreement_id) = (
        text(input, "agreementCancellationRequestId"),
        text(input, "agreementId"),
    );
    let requests: CancellationRequests = load_document(store)?;
    let request = requests
        .get(id)
        .filter(|r| r.agreement_id == agreement_id)
        .cloned()
        .ok_or_else(|| not_found(id))?;
    let (product, i) = visible_for(store, call, agreement_id, || not_found(id))?;
    Ok((requests, request, product, i))
}

/// `GetAgreementCancellationRequest`
pub fn get<S: Store + ?Sized>(input: &Map<String, Value>, call: &Call<'_>, store: &S) -> Answer {
    let (_, request, _, _) = party_request(store, call, input)?;
    Ok(view(&request))
}

/// `ListAgreementCancellationRequests`: the requests on agreements the caller proposed
/// (`partyType` `Proposer`) or accepted (`Acceptor`), newest first.
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
    if kind.is_empty() || kind == super::agreements::AGREEMENT_TYPE {
        let parties = agreement_parties(store)?;
        let requests: CancellationRequests = load_document(store)?;
        for r in requests.0.iter().rev() {
            if (!wanted.is_empty() && r.agreement_id != wanted)
                || (!status.is_empty() && r.status.name() != status)
            {
                continue;
            }
            if is_party_as(&parties, &r.agreement_id, caller, proposer) {
                items.push(json!({
                    "agreementCancellationRequestId": r.id, "agreementId": r.agreement_id,
                    "status": r.status.name(), "reasonCode": r.reason_code,
                    "agreementType": super::agreements::AGREEMENT_TYPE, "catalog": "AWSMarketplace",
                    "createdAt": epoch_seconds(r.created_at), "updatedAt": epoch_seconds(r.updated_at),
                }));
            }
        }
    }
    let listing = format!(
        "ListAgreementCancellationRequests\n{}\n{proposer}\n{wanted}\n{status}\n{kind}",
        call.caller.identity()
    );
    let (items, next) = page(SERVICE, items, input, call, &listing, 20)?;
    Ok(with_next(json!({ "items": items }), next))
}

/// Moves a pending request to `status` (with `message`) by a party (`as_proposer`: the
/// proposer withdraws; else the acceptor decides), logs its event, and on approval cancels
/// the agreement.
fn decide<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
    ids: &mut dyn IdSource,
    status: CancellationStatus,
    message: Option<&str>,
) -> Answer {
    let (mut requests, request, product, i) = party_request(store, call, input)?;
    let approving = status == CancellationStatus::Approved;
    let decided = Decided {
        resource_type: RESOURCE,
        kind: "Cancellation request",
        id: &request.id,
        agreement_id: &request.agreement_id,
        status: request.status.name(),
        pending: request.is_pending(),
    };
    let as_proposer = status == CancellationStatus::Cancelled;
    check_decision(call, &product, i, &decided, as_proposer, approving)?;
    let decided = settle(&mut requests, &request.id, status, message, call.now)
        .ok_or_else(|| not_found(&request.id))?;
    save_document(store, &requests)?;
    let internal = |e: ServiceError| ModelError::of_service(SERVICE, &e);
    notify_request(store, &product, i, &decided, When::of(call), ids).map_err(internal)?;
    if approving {
        cancel_agreement(store, product, i, When::of(call), ids).map_err(internal)?;
        return Ok(view_without_message(&decided));
    }
    Ok(view(&decided))
}

/// Sets request `id`'s status and message at `now`; returns it as it now is (`None`: no
/// such request).
fn settle(
    requests: &mut CancellationRequests,
    id: &str,
    status: CancellationStatus,
    message: Option<&str>,
    now: Instant,
) -> Option<CancellationRequest> {
    let r = requests.get_mut(id)?;
    r.status = status;
    r.status_message = message.map(str::to_string);
    r.updated_at = now;
    Some(r.clone())
}

/// Cancels customer `i`'s agreement, as `CancelAgreement` does, if it is still active.
fn cancel_agreement<S: Store + ?Sized>(
    store: &mut S,
    product: Product,
    i: usize,
    when: When<'_>,
    ids: &mut dyn IdSource,
) -> Result<(), ServiceError> {
    if !rules::is_active(&product.customers[i], when.now) {
        return Ok(());
    }
    end_agreement(store, product, i, when, ids)
}

/// `CancelAgreementCancellationRequest` (the proposer withdraws its request).
pub fn withdraw<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
    ids: &mut dyn IdSource,
) -> Answer {
    let reason = text(input, "cancellationReason").to_string();
    decide(
        input,
        call,
        store,
        ids,
        CancellationStatus::Cancelled,
        Some(&reason),
    )
}

/// `AcceptAgreementCancellationRequest` (the acceptor approves: the agreement is cancelled).
pub fn accept<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
    ids: &mut dyn IdSource,
) -> Answer {
    decide(input, call, store, ids, CancellationStatus::Approved, None)
}

/// `RejectAgreementCancellationRequest`
pub fn reject<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
    ids: &mut dyn IdSource,
) -> Answer {
    let reason = text(input, "rejectionReason").to_string();
    decide(
        input,
        call,
        store,
        ids,
        CancellationStatus::Rejected,
        Some(&reason),
    )
}

/// Settles the requests pending for `AUTO_APPROVAL_DAYS` by namespace time `at`: approved,
/// their agreements cancelled at `at`; a request whose agreement ended meanwhile is
/// cancelled instead. Returns the moments logged.
pub fn approve_due<S: Store + ?Sized>(
    store: &mut S,
    at: Instant,
    host_now: Instant,
    settings: &Settings,
    ids: &mut dyn IdSource,
) -> Result<usize, ServiceError> {
    let mut requests: CancellationRequests = documents::load(store)?;
    let due: Vec<(String, String)> = requests
        .0
        .iter()
        .filter(|r| r.is_pending() && r.auto_approval_at() <= at)
        .map(|r| (r.id.clone(), r.agreement_id.clone()))
        .collect();
    let when = When {
        now: at,
        host_now,
        settings,
    };
    let mut logged = 0;
    for (id, agreement_id) in &due {
        let found = agreement(store, agreement_id)
            .map_err(|_| ServiceError::internal("the products could not be read"))?;
        let active = found
            .as_ref()
            .is_some_and(|(p, i)| rules::is_active(&p.customers[*i], at));
        let (status, message) = match active {
            true => (CancellationStatus::Approved, APPROVED_BY_ITSELF),
            false => (CancellationStatus::Cancelled, AGREEMENT_ENDED),
        };
        let Some(decided) = settle(&mut requests, id, status, Some(message), at) else {
            continue;
        };
        let Some((product, i)) = found else {
            continue;
        };
        notify_request(store, &product, i, &decided, when, ids)?;
        logged += 1;
        if active {
            cancel_agreement(store, product, i, when, ids)?;
            logged += 1;
        }
    }
    documents::save(store, &requests)?;
    Ok(logged)
}

const APPROVED_BY_ITSELF: &str =
    "Approved automatically: the acceptor did not answer within 7 days";
const AGREEMENT_ENDED: &str = "Cancelled: the agreement ended before the request was approved";
