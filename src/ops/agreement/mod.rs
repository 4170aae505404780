//! The Agreement Service's and Discovery's operations: each a function from its input (already
//! held to its model by the front door), the call's context and the store to its output or a
//! modeled error. Offers come from products (`domain::offer`); an agreement is a customer of
//! a concurrent-agreements product (`domain::agreement`). An operation the mock does not serve
//! yet answers `ValidationException` (an error every operation's model lists) with the
//! model's reason `UNSUPPORTED_ACTION` (Discovery: `MALFORMED_REQUEST_PARAMETERS`).

mod adjustments;
mod agreements;
mod approvals;
mod cancellations;
mod charges;
mod invoices;
pub mod milestones;
mod offers;
mod payments;
mod requests;
mod schedule;
mod search;

use std::borrow::Cow;
use std::collections::HashMap;
use std::rc::Rc;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::Call;
use crate::domain::agreement::{self as rules, AgreementRequest};
use crate::domain::catalogue::{Customer, Integration, Product};
use crate::domain::ids::{random_hex, IdSource};
use crate::domain::notification::{Change, EventRecord};
use crate::domain::offer::{proposer_of, Offer};
use crate::domain::page_token::PageTokens;
use crate::domain::settings::Settings;
use crate::domain::subscription::{LifecycleAction, SubscriptionState};
use crate::domain::time::Instant;
use crate::error::ServiceError;
use crate::model::error::ModelError;
use crate::model::{ModelService, OperationModel};
use crate::store::documents::{self, Document};
use crate::store::{Store, StoreError};

/// An operation's answer.
pub type Answer = Result<Value, ModelError>;

/// Runs `operation` of `service` on its input.
pub fn dispatch<S: Store + ?Sized>(
    service: ModelService,
    operation: &OperationModel,
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
    ids: &mut dyn IdSource,
) -> Answer {
    use ModelService::{Agreement, Discovery};
    if service == Agreement && SWEPT_FIRST.contains(&operation.name.as_str()) {
        // What the namespace clock brought (an automatic approval, an approval's expiry, an
        // agreement's end) happens before anyone decides: the alarm may not have rung yet.
        milestones::sweep(store, call.now, call.host_now, call.settings, ids)
            .map_err(|e| ModelError::of_service(service, &e))?;
    }
    match (service, operation.name.as_str()) {
        (Agreement, "DescribeAgreement") => agreements::describe(input, call, store),
        (Agreement, "GetAgreementTerms") => agreements::terms(input, call, store),
        (Agreement, "GetAgreementContacts") => agreements::contacts(input, call, store),
        (Agreement, "GetAgreementEntitlements") => {
            agreements::entitlements(input, call, store, ids)
        }
        (Agreement, "SearchAgreements") => search::search(input, call, store),
        (Agreement, "ListAgreementCharges") => charges::list(input, call, store),
        (Agreement, "UpdatePurchaseOrders") => charges::update(input, call, store),
        (Agreement, "CancelAgreement") => agreements::cancel(input, call, store, ids),
        (Agreement, "CreateAgreementRequest") => requests::create(input, call, store, ids),
        (Agreement, "GetAgreementRequest") => requests::get(input, call, store),
        (Agreement, "AcceptAgreementRequest") => requests::accept(input, call, store, ids),
        (Agreement, "CancelAgreementRequest") => requests::cancel(input, call, store),
        (Agreement, "ListAgreementRequests") => requests::list(input, call, store),
        (Agreement, "GetAgreementRequestTerms") => requests::terms(input, call, store),
        (Agreement, "SendAgreementCancellationRequest") => {
            cancellations::send(input, call, store, ids)
        }
        (Agreement, "GetAgreementCancellationRequest") => cancellations::get(input, call, store),
        (Agreement, "ListAgreementCancellationRequests") => cancellations::list(input, call, store),
        (Agreement, "CancelAgreementCancellationRequest") => {
            cancellations::withdraw(input, call, store, ids)
        }
        (Agreement, "AcceptAgreementCancellationRequest") => {
            cancellations::accept(input, call, store, ids)
        }
        (Agreement, "RejectAgreementCancellationRequest") => {
            cancellations::reject(input, call, store, ids)
        }
        (Agreement, "SendAgreementPaymentRequest") => payments::send(input, call, store, ids),
        (Agreement, "GetAgreementPaymentRequest") => payments::get(input, call, store),
        (Agreement, "ListAgreementPaymentRequests") => payments::list(input, call, store),
        (Agreement, "CancelAgreementPaymentRequest") => payments::withdraw(input, call, store, ids),
        (Agreement, "AcceptAgreementPaymentRequest") => payments::accept(input, call, store, ids),
        (Agreement, "RejectAgreementPaymentRequest") => payments::reject(input, call, store, ids),
        (Agreement, "ListAgreementInvoiceLineItems") => invoices::list(input, call, store),
        (Agreement, "BatchCreateBillingAdjustmentRequest") => {
            adjustments::batch_create(input, call, store, ids)
        }
        (Agreement, "GetBillingAdjustmentRequest") => adjustments::get(input, call, store),
        (Agreement, "ListBillingAdjustmentRequests") => adjustments::list(input, call, store),
        (Agreement, "GetAgreementRequestApprovalPlans") => approvals::plans(input, call, store),
        (Agreement, "StartAgreementApprovals") => approvals::start(input, call, store, ids),
        (Agreement, "GetAgreementApproval") => approvals::get(input, call, store),
        (Agreement, "ListAgreementApprovals") => approvals::list(input, call, store),
        (Agreement, "AcceptAgreementApproval") => approvals::accept(input, call, store),
        (Agreement, "RejectAgreementApproval") => approvals::reject(input, call, store),
        (Discovery, "GetOffer") => offers::get_offer(input, call, store),
        (Discovery, "ListPurchaseOptions") => offers::list_purchase_options(input, call, store),
        (Discovery, "GetOfferTerms") => offers::get_offer_terms(input, call, store),
        _ => Err(not_served(service, &operation.name)),
    }
}

/// The operations that change agreements or requests with deadlines: the clock's due
/// moments are brought about before them (a read does not write, so it may see a moment due
/// but not yet brought about until the alarm rings).
const SWEPT_FIRST: [&str; 15] = [
    "SendAgreementPaymentRequest",
    "SendAgreementCancellationRequest",
    "CancelAgreement",
    "CancelAgreementRequest",
    "UpdatePurchaseOrders",
    "AcceptAgreementPaymentRequest",
    "RejectAgreementPaymentRequest",
    "CancelAgreementPaymentRequest",
    "AcceptAgreementCancellationRequest",
    "RejectAgreementCancellationRequest",
    "CancelAgreementCancellationRequest",
    "AcceptAgreementApproval",
    "RejectAgreementApproval",
    "AcceptAgreementRequest",
    "StartAgreementApprovals",
];

/// The answer of an operation the mock does not serve yet.
pub(crate) fn not_served(service: ModelService, operation: &str) -> ModelError {
    let reason = match service {
        ModelService::Agreement => "UNSUPPORTED_ACTION",
        ModelService::Discovery | ModelService::Deployment => service.generic_reason(),
    };
    ModelError::validation(
        service,
        reason,
        format!("{operation} is not served by metering-mock yet: its model is known and its input was valid, but the mock has no behaviour for it"),
        &[],
    )
}

/// When a change happens: namespace time, host time (for deliveries), and the settings.
#[derive(Clone, Copy)]
struct When<'a> {
    now: Instant,
    host_now: Instant,
    settings: &'a Settings,
}

impl<'a> When<'a> {
    fn of(call: &'a Call<'_>) -> When<'a> {
        When {
            now: call.now,
            host_now: call.host_now,
            settings: call.settings,
        }
    }
}

/// Appends the notifications of `change` for customer `index` of `product` (the SNS message
/// and the EventBridge events, delivered to the product's webhooks as the control API's are).
fn notify<S: Store + ?Sized>(
    store: &mut S,
    change: Change,
    product: &Product,
    index: usize,
    when: When<'_>,
    ids: &mut dyn IdSource,
) -> Result<(), ServiceError> {
    let event = EventRecord::new(
        change,
        product,
        &product.customers[index],
        when.now,
        when.host_now,
        when.settings,
        || ids.next_uuid(),
    );
    store.append_event(&event)?;
    Ok(())
}

/// Cancels customer `i`'s agreement of `product` (the subscription's `unsubscribe-pending`:
/// its final metering hour starts) and notifies it: `CancelAgreement`, and an approved
/// cancellation request.
fn end_agreement<S: Store + ?Sized>(
    store: &mut S,
    mut product: Product,
    i: usize,
    when: When<'_>,
    ids: &mut dyn IdSource,
) -> Result<(), ServiceError> {
    let mut customer = product.customers[i].clone();
    customer.subscription = SubscriptionState::UnsubscribePending;
    customer.subscription_changed_at = Some(when.now);
    product.customers[i] = customer;
    store.put_product(&product)?;
    payments::close_ended(store, when.now)?;
    let change = Change::Lifecycle(LifecycleAction::UnsubscribePending);
    notify(store, change, &product, i, when, ids)
}

/// The longest requester kept as it is; a longer (wildcard) access key id is kept as a digest,
/// so a hostile key cannot grow the documents that keep requesters.
const MAX_REQUESTER_BYTES: usize = 64;

/// Who asks, as a request keeps it: the 12-digit account, or the wildcard caller's key.
pub(crate) fn requester(call: &Call<'_>) -> String {
    let identity = call.caller.identity();
    if identity.len() <= MAX_REQUESTER_BYTES {
        identity.to_string()
    } else {
        format!(
            "sha256:{}",
            hex::encode(Sha256::digest(identity.as_bytes()))
        )
    }
}

/// Who sends a request, and how its retry is known: the requester, its client token, and a
/// digest of its other members.
struct Sender {
    who: String,
    token: Option<String>,
    print: String,
}

impl Sender {
    fn of(call: &Call<'_>, input: &Map<String, Value>) -> Sender {
        Sender {
            who: requester(call),
            token: input
                .get("clientToken")
                .and_then(Value::as_str)
                .map(str::to_string),
            print: fingerprint(input),
        }
    }

    /// The earlier request of `kept` this one retries (`retried`).
    fn retried<'a, T: Idempotent>(
        &self,
        kept: &'a [T],
        resource_type: &str,
    ) -> Result<Option<&'a T>, ModelError> {
        retried(
            kept,
            &self.who,
            self.token.as_deref(),
            &self.print,
            resource_type,
        )
    }
}

/// What makes two requests the same request: a digest of every member but the client
/// token (members in the canonical order serde_json keeps them in).
pub(crate) fn fingerprint(input: &Map<String, Value>) -> String {
    let mut rest = input.clone();
    rest.remove("clientToken");
    hex::encode(Sha256::digest(Value::Object(rest).to_string().as_bytes()))
}

/// A new id: `prefix` and `n` (at most 32) random lowercase hex digits.
pub(crate) fn new_id(prefix: &str, ids: &mut dyn IdSource, n: usize) -> Result<String, ModelError> {
    let hex = random_hex(ids, 32)
        .map_err(|e| ModelError::of_service(ModelService::Agreement, &ServiceError::internal(e)))?;
    Ok(format!("{prefix}{}", &hex[hex.len().saturating_sub(n)..]))
}

/// `catalog`, when given, is `AWSMarketplace` (the one catalog).
fn check_catalog(input: &Map<String, Value>) -> Result<(), ModelError> {
    let catalog = text(input, "catalog");
    if catalog.is_empty() || catalog == "AWSMarketplace" {
        return Ok(());
    }
    let message = format!("Catalog {catalog} is not AWSMarketplace");
    Err(ModelError::validation(
        ModelService::Agreement,
        "INVALID_CATALOG",
        message.clone(),
        &[("catalog", &message)],
    ))
}

/// The namespace's document `D` (its requests of one kind).
fn load_document<D: Document, S: Store + ?Sized>(store: &S) -> Result<D, ModelError> {
    documents::load(store).map_err(|e| ModelError::of_service(ModelService::Agreement, &e))
}

/// The most one of these documents may take: what one stranger's requests can make a
/// namespace store is bytes, not only records.
pub(crate) const MAX_DOCUMENT_BYTES: usize = 1 << 20;

/// A document of kept records whose settled ones may be forgotten to make room.
trait Evictable: Document {
    /// Forgets the oldest settled record but those of `spare` (a request whose records an
    /// operation is deciding on); answers the bytes it took, `None` when none could go.
    fn evict_oldest_settled(&mut self, spare: &str) -> Option<usize>;
}

/// The bytes `value` takes in its document (with the separator after it).
pub(crate) fn json_size<T: serde::Serialize>(value: &T) -> Result<usize, ModelError> {
    serde_json::to_vec(value)
        .map(|bytes| bytes.len() + 1)
        .map_err(|e| ModelError::of_service(ModelService::Agreement, &ServiceError::internal(e)))
}

/// Saves document `D` after it grew (a new record, a decision's note): the oldest settled
/// records (but `spare`'s) are forgotten until it takes at most `MAX_DOCUMENT_BYTES`; if it
/// still takes more, nothing is written and the answer is a conflict with what the namespace
/// holds. Call it before any other write of the operation, so a refusal leaves nothing half
/// done.
fn save_grown<D: Evictable, S: Store + ?Sized>(
    store: &mut S,
    doc: &mut D,
    spare: &str,
) -> Result<(), ModelError> {
    let mut size = json_size(doc)?;
    while size > MAX_DOCUMENT_BYTES {
        match doc.evict_oldest_settled(spare) {
            Some(freed) => size = size.saturating_sub(freed),
            None => break,
        }
    }
    if size > MAX_DOCUMENT_BYTES {
        return Err(ModelError::modeled(
            ModelService::Agreement,
            "ConflictException",
            format!("The namespace's {} would take {size} bytes, more than the {MAX_DOCUMENT_BYTES} it keeps, with its pending records alone: settle or withdraw some, or send shorter texts", D::KEY),
        ));
    }
    save_document(store, doc)
}

/// Saves document `D` as it is (records settled, or bounded by their count).
fn save_document<D: Document, S: Store + ?Sized>(store: &mut S, doc: &D) -> Result<(), ModelError> {
    documents::save(store, doc).map_err(|e| ModelError::of_service(ModelService::Agreement, &e))
}

/// `ConflictException` about the `resource_type` `id`.
fn conflict_on(resource_type: &str, id: &str, message: String) -> ModelError {
    ModelError::modeled(ModelService::Agreement, "ConflictException", message)
        .with("resourceId", id)
        .with("resourceType", resource_type)
}

/// `AccessDeniedException` with `message` unless the caller is `product`'s proposer (or the
/// wildcard caller, which is every party).
fn require_proposer(
    call: &Call<'_>,
    product: &Product,
    message: impl FnOnce() -> String,
) -> Result<(), ModelError> {
    match call.caller.account.as_deref() {
        Some(account) if account != proposer_of(product) => Err(access_denied(message())),
        _ => Ok(()),
    }
}

/// A timestamp member of the input (epoch seconds), if given and within range.
pub(crate) fn time_member(input: &Map<String, Value>, name: &str) -> Option<Instant> {
    input
        .get(name)
        .and_then(Value::as_f64)
        .and_then(Instant::try_from_epoch_seconds)
}

/// A seller's request (a cancellation or payment request) a party decides on.
struct Decided<'a> {
    /// `ConflictException`'s `resourceType`, and how messages name it ("Payment request").
    resource_type: &'a str,
    kind: &'a str,
    id: &'a str,
    agreement_id: &'a str,
    status: &'a str,
    pending: bool,
}

/// Checks a decision on `request`, customer `i`'s agreement of `product`: its proposer
/// withdraws it (`as_proposer`), its acceptor approves or rejects it (the wildcard caller is
/// either; another party: `AccessDeniedException`); only a pending request changes, and only
/// one of an active agreement is approved (`approving`; else `ConflictException`).
fn check_decision(
    call: &Call<'_>,
    product: &Product,
    i: usize,
    request: &Decided<'_>,
    as_proposer: bool,
    approving: bool,
) -> Result<(), ModelError> {
    let (kind, id) = (request.kind, request.id);
    let allowed = match call.caller.account.as_deref() {
        None => true,
        Some(a) if as_proposer => a == proposer_of(product),
        Some(a) => product.customers[i].customer_aws_account_id.as_deref() == Some(a),
    };
    if !allowed {
        let who = match as_proposer {
            true => "its proposer withdraws it",
            false => "its acceptor approves or rejects it",
        };
        return Err(access_denied(format!("{kind} {id}: {who}")));
    }
    if !request.pending {
        let message = format!(
            "{kind} {id} is {}: only a PENDING_APPROVAL request can change",
            request.status
        );
        return Err(conflict_on(request.resource_type, id, message));
    }
    let customer = &product.customers[i];
    if approving && !rules::is_active(customer, call.now) {
        let message = format!(
            "Agreement {} is {}: its {} can no longer be approved, only rejected or withdrawn",
            request.agreement_id,
            rules::status(customer, call.now),
            kind.to_lowercase()
        );
        return Err(conflict_on(request.resource_type, id, message));
    }
    Ok(())
}

/// `AccessDeniedException`: the caller is a party, not the one that may do this.
fn access_denied(message: String) -> ModelError {
    ModelError::modeled(ModelService::Agreement, "AccessDeniedException", message)
        .with("reason", "INVALID_ACCESS")
}

/// A request kept with its client token: who sent it, its token and its members' digest.
trait Idempotent {
    fn id(&self) -> &str;
    fn requester(&self) -> &str;
    fn client_token(&self) -> Option<&str>;
    fn fingerprint(&self) -> &str;
}

/// The earlier request `who` sent with client `token`, when this one (`print`) retries it;
/// `ConflictException` when the token was used with other members.
fn retried<'a, T: Idempotent>(
    kept: &'a [T],
    who: &str,
    token: Option<&str>,
    print: &str,
    resource_type: &str,
) -> Result<Option<&'a T>, ModelError> {
    let Some(token) = token else {
        return Ok(None);
    };
    match kept
        .iter()
        .find(|r| r.requester() == who && r.client_token() == Some(token))
    {
        Some(earlier) if earlier.fingerprint() != print => Err(conflict_on(
            resource_type,
            earlier.id(),
            format!(
                "clientToken {token} was used for {} with other parameters",
                earlier.id()
            ),
        )),
        found => Ok(found),
    }
}

/// `partyType`: whether the caller lists as the proposer (`Proposer`) or the acceptor.
fn party_type(input: &Map<String, Value>) -> Result<bool, ModelError> {
    match text(input, "partyType") {
        "Proposer" => Ok(true),
        "Acceptor" => Ok(false),
        party => {
            let message = format!("partyType {party} is not Proposer or Acceptor");
            Err(ModelError::validation(
                ModelService::Agreement,
                "INVALID_PARTY_TYPE",
                message.clone(),
                &[("partyType", &message)],
            ))
        }
    }
}

/// Each agreement's proposer and acceptor accounts, by agreement id (the products read once).
fn agreement_parties<S: Store + ?Sized>(
    store: &S,
) -> Result<HashMap<String, (String, Option<String>)>, ModelError> {
    let mut parties = HashMap::new();
    for product in store.products().map_err(storage(ModelService::Agreement))? {
        for record in agreement_records(&product) {
            let customer = agreement_record(&product, record);
            if let Some(id) = rules::agreement_id(&customer) {
                let acceptor = customer
                    .customer_aws_account_id
                    .as_deref()
                    .map(str::to_string);
                parties.insert(id, (proposer_of(&product), acceptor));
            }
        }
    }
    Ok(parties)
}

/// Whether `caller` (`None`: the wildcard caller) is the agreement's proposer (`as_proposer`)
/// or its acceptor, by `agreement_parties`.
fn is_party_as(
    parties: &HashMap<String, (String, Option<String>)>,
    agreement_id: &str,
    caller: Option<&str>,
    as_proposer: bool,
) -> bool {
    let Some((proposer, acceptor)) = parties.get(agreement_id) else {
        return false;
    };
    match (caller, as_proposer) {
        (None, _) => true,
        (Some(a), true) => a == proposer,
        (Some(a), false) => acceptor.as_deref() == Some(a),
    }
}

/// The product a request was made on, as it stands now.
fn product_of<S: Store + ?Sized>(
    store: &S,
    request: &AgreementRequest,
) -> Result<Option<Product>, ModelError> {
    Ok(store
        .product(&request.product_code)
        .map_err(storage(ModelService::Agreement))?
        .map(|p| (*p).clone()))
}

/// The offer `request` was made on, if `product` still has it.
fn offer_of(product: &Product, request: &AgreementRequest) -> Option<Offer> {
    Offer::all(product)
        .into_iter()
        .find(|o| o.offer_id == request.offer_id)
}

/// A storage failure, as the Agreement Service's `InternalServerException`.
pub(crate) fn storage(service: ModelService) -> impl Fn(StoreError) -> ModelError {
    move |e| ModelError::of_service(service, &ServiceError::from(e))
}

/// A string member (the model already checked its type; absent reads as empty).
pub(crate) fn text<'a>(input: &'a Map<String, Value>, name: &str) -> &'a str {
    input.get(name).and_then(Value::as_str).unwrap_or_default()
}

/// The product and its offer that `matches` (by its offer id, or its proposal id), among
/// the offers the caller may see (a private offer is its buyers' alone).
fn product_offering<S: Store + ?Sized>(
    store: &S,
    service: ModelService,
    call: &Call<'_>,
    matches: impl Fn(&Offer) -> bool,
) -> Result<Option<(Product, Offer)>, ModelError> {
    let caller = call.caller.account.as_deref();
    let products = store.products().map_err(storage(service))?;
    Ok(products.into_iter().find_map(|p| {
        let offer = Offer::all(&p)
            .into_iter()
            .find(|o| matches(o) && o.is_visible_to(caller))?;
        Some((Rc::unwrap_or_clone(p), offer))
    }))
}

/// The concurrent-agreements product and customer index of agreement `id`, if any. For an
/// agreement a renewal or replacement ended, the customer at the index is that agreement's
/// view (`PreviousAgreement::view`, status `RENEWED` or `REPLACED`): such a product is read,
/// never stored.
pub(crate) fn agreement<S: Store + ?Sized>(
    store: &S,
    id: &str,
) -> Result<Option<(Product, usize)>, ModelError> {
    let products = store.products().map_err(storage(ModelService::Agreement))?;
    Ok(products.into_iter().find_map(|p| {
        let (index, previous) = agreement_records(&p).find(|&(i, previous)| match previous {
            None => rules::agreement_id(&p.customers[i]).as_deref() == Some(id),
            Some(n) => p.customers[i].previous_agreements[n].agreement_id.as_ref() == id,
        })?;
        let mut p = Rc::unwrap_or_clone(p);
        if let Some(n) = previous {
            let view = p.customers[index].previous_agreements[n].view(&p.customers[index]);
            p.customers[index] = view;
        }
        Some((p, index))
    }))
}

/// An agreement of a product: its customer's index, and which of its previous agreements.
type AgreementRecord = (usize, Option<usize>);

/// Every agreement of `product`: each agreement customer's current one `(i, None)`, then
/// those it renewed or replaced `(i, Some(n))`, the `n`th of its previous agreements.
fn agreement_records(product: &Product) -> impl Iterator<Item = AgreementRecord> + '_ {
    agreement_customers(product).flat_map(move |i| {
        let previous = product.customers[i].previous_agreements.len();
        std::iter::once((i, None)).chain((0..previous).map(move |n| (i, Some(n))))
    })
}

/// The agreement `record` of `product` (`agreement_records`) as a customer record to read.
fn agreement_record(product: &Product, (i, previous): AgreementRecord) -> Cow<'_, Customer> {
    let customer = &product.customers[i];
    match previous {
        None => Cow::Borrowed(customer),
        Some(n) => Cow::Owned(customer.previous_agreements[n].view(customer)),
    }
}

/// The customers of `product` that are agreements: every customer of a concurrent-agreements
/// product with a license or an agreement id.
fn agreement_customers(product: &Product) -> impl Iterator<Item = usize> + '_ {
    let concurrent = product.integration == Integration::ConcurrentAgreements;
    (0..product.customers.len())
        .filter(move |&i| concurrent && rules::agreement_id(&product.customers[i]).is_some())
}

/// What happens at the end of `customer`'s agreement of `product` (`EndTimeBehavior`).
fn end_behavior(
    product: &Product,
    customer: &Customer,
) -> Option<(&'static str, Option<&'static str>)> {
    let renews = Offer::renewal_of(product, customer).is_some();
    // A contract listed by hand, without the buyer's choice, took no renewal term.
    let offer_renews =
        customer.contract.is_some() && Offer::of(product, customer).has_renewal_term();
    rules::end_time_behavior(customer, renews, offer_renews)
}

/// `output` with its `nextToken`, when there is a next page.
pub(crate) fn with_next(mut output: Value, next: Option<String>) -> Value {
    if let Some(next) = next {
        output["nextToken"] = Value::String(next);
    }
    output
}

/// One page of `items` (`maxResults`, `nextToken` as the input gives them): the page and the
/// token of the next, if any. Tokens are bound to `listing` and the namespace's incarnation.
pub(crate) fn page<T>(
    service: ModelService,
    items: Vec<T>,
    input: &Map<String, Value>,
    call: &Call<'_>,
    listing: &str,
    default_size: usize,
) -> Result<(Vec<T>, Option<String>), ModelError> {
    let secret = format!("{}\n{}", call.namespace, call.incarnation);
    let tokens = PageTokens::new(&secret, listing);
    // Discovery's tokens take the standard base64 alphabet (its model's pattern).
    let standard = service == ModelService::Discovery;
    let start = match input.get("nextToken").and_then(Value::as_str) {
        None | Some("") => 0,
        Some(token) => tokens.position(&token.replace('+', "-").replace('/', "_")).ok_or_else(|| {
            let reason = match service {
                ModelService::Agreement => "INVALID_NEXT_TOKEN",
                ModelService::Discovery | ModelService::Deployment => "INVALID_PAGINATION_TOKEN",
            };
            ModelError::validation(
                service,
                reason,
                "The nextToken is not valid for this request: pass the nextToken of the previous page, with the same other parameters",
                &[("nextToken", "not issued for this request")],
            )
        })?,
    };
    let size = input
        .get("maxResults")
        .and_then(Value::as_u64)
        .map_or(default_size, |n| n as usize);
    let end = start.saturating_add(size).min(items.len());
    let next = (end < items.len()).then(|| {
        let token = tokens.issue(end);
        match standard {
            true => token.replace('-', "+").replace('_', "/"),
            false => token,
        }
    });
    let page = items
        .into_iter()
        .skip(start)
        .take(end.saturating_sub(start))
        .collect();
    Ok((page, next))
}
