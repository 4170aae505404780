//! Billing adjustments: the proposer credits the buyer part of an invoice
//! (`BatchCreateBillingAdjustmentRequest`, one agreement per batch, each entry idempotent by
//! its `clientToken`, entries that fail listed in `errors`), and reads its requests
//! (`GetBillingAdjustmentRequest`, `ListBillingAdjustmentRequests`). An adjustment within
//! what the invoice may still be credited completes at once and issues a credit memo
//! (`ListAgreementInvoiceLineItems`, the bill preview); one beyond it is `VALIDATION_FAILED`.
//! Each sends `Purchase Agreement Billing Adjustment Completed|Failed - Proposer`.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::agreements::{is_not_found, visible, visible_for, AGREEMENT_TYPE};
use super::{
    agreement_parties, check_catalog, fingerprint, is_party_as, load_document, new_id, page,
    requester, require_proposer, save_document, text, time_member, with_next, Answer, Call,
    Idempotent, When,
};
use crate::domain::catalogue::Product;
use crate::domain::ids::IdSource;
use crate::domain::invoice::{
    credit_memo, AdjustmentStatus, BillingAdjustment, BillingAdjustments, InvoiceType, Invoices,
};
use crate::domain::notification::{billing_adjustment_event, EventRecord};
use crate::domain::payment::{charge_cents, dollars};
use crate::domain::time::Instant;
use crate::error::ServiceError;
use crate::model::error::ModelError;
use crate::model::ModelService;
use crate::ops::shapes::epoch_seconds;
use crate::store::Store;

const SERVICE: ModelService = ModelService::Agreement;
const RESOURCE: &str = "BillingAdjustmentRequest";
/// Entries one batch takes at most (the model sets no maximum).
pub const MAX_ENTRIES: usize = 25;

impl Idempotent for BillingAdjustment {
    fn id(&self) -> &str {
        &self.id
    }
    fn requester(&self) -> &str {
        &self.requester
    }
    fn client_token(&self) -> Option<&str> {
        Some(&self.client_token)
    }
    fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

fn invalid(reason: &str, message: String) -> ModelError {
    ModelError::validation(
        SERVICE,
        reason,
        message.clone(),
        &[("billingAdjustmentRequestEntries", &message)],
    )
}

/// An entry's failure (`BatchCreateBillingAdjustmentError`).
fn entry_error(code: &str, token: &str, message: String) -> Value {
    json!({"code": code, "message": message, "clientToken": token})
}

/// `BatchCreateBillingAdjustmentRequest`
pub fn batch_create<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
    ids: &mut dyn IdSource,
) -> Answer {
    let entries: Vec<&Map<String, Value>> = input
        .get("billingAdjustmentRequestEntries")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .collect();
    if entries.is_empty() {
        return Err(invalid(
            "MISSING_BILLING_ADJUSTMENTS",
            "billingAdjustmentRequestEntries lists no entry".into(),
        ));
    }
    if entries.len() > MAX_ENTRIES {
        return Err(invalid(
            "BILLING_ADJUSTMENTS_LIMIT_EXCEEDED",
            format!("A batch takes at most {MAX_ENTRIES} entries"),
        ));
    }
    let agreements: BTreeSet<&str> = entries.iter().map(|e| text(e, "agreementId")).collect();
    let agreement_id = match agreements.iter().next() {
        Some(id) if agreements.len() == 1 => *id,
        _ => {
            return Err(invalid(
                "MULTIPLE_AGREEMENT_IDS",
                "Every entry of a batch names the same agreementId".into(),
            ))
        }
    };
    let found = match visible(store, call, agreement_id) {
        Ok(found) => Some(found),
        Err(e) if is_not_found(&e) => None,
        Err(e) => return Err(e),
    };
    if let Some((product, _)) = &found {
        require_proposer(call, product, || {
            format!("Only the proposer of agreement {agreement_id} adjusts its invoices")
        })?;
    }
    let who = requester(call);
    let mut adjustments: BillingAdjustments = load_document(store)?;
    let mut kept: Invoices = load_document(store)?;
    let (mut items, mut errors, mut settled) = (Vec::new(), Vec::new(), Vec::new());
    for entry in entries {
        let token = text(entry, "clientToken");
        let print = fingerprint(entry);
        match retried(&adjustments, &who, token, &print) {
            Ok(Some(id)) => {
                items.push(json!({"billingAdjustmentRequestId": id, "clientToken": token}));
                continue;
            }
            Ok(None) => {}
            Err(message) => {
                errors.push(entry_error("CONFLICT_EXCEPTION", token, message));
                continue;
            }
        }
        let Some((product, i)) = &found else {
            let message = format!("Agreement {agreement_id} was not found: no agreement of this namespace with that id has the caller as a party");
            errors.push(entry_error("RESOURCE_NOT_FOUND_EXCEPTION", token, message));
            continue;
        };
        match adjust(entry, product, *i, &mut kept, call.now, ids, &who, print) {
            Ok(Ok(adjustment)) => {
                items.push(
                    json!({"billingAdjustmentRequestId": adjustment.id, "clientToken": token}),
                );
                settled.push(adjustment.clone());
                adjustments.add(adjustment);
            }
            Ok(Err((code, message))) => errors.push(entry_error(code, token, message)),
            Err(e) => return Err(e),
        }
    }
    // Only what changed is written (a batch whose every entry failed writes nothing).
    if !settled.is_empty() {
        save_document(store, &adjustments)?;
        save_document(store, &kept)?;
    }
    if let Some((product, _)) = &found {
        let internal = |e: ServiceError| ModelError::of_service(SERVICE, &e);
        for adjustment in &settled {
            notify(store, product, adjustment, When::of(call), ids).map_err(internal)?;
        }
    }
    Ok(json!({ "items": items, "errors": errors }))
}

/// The id of the adjustment `who` requested with client `token`, when this entry (`print`)
/// retries it; the conflict's message when the token was used with other members.
fn retried(
    adjustments: &BillingAdjustments,
    who: &str,
    token: &str,
    print: &str,
) -> Result<Option<String>, String> {
    match super::retried(&adjustments.0, who, Some(token), print, RESOURCE) {
        Ok(found) => Ok(found.map(|a| a.id.clone())),
        Err(e) => Err(e.message),
    }
}

/// One entry's adjustment of customer `i`'s agreement: completed (its credit memo added to
/// `kept`) or `VALIDATION_FAILED` when it exceeds what the invoice may still be credited;
/// `Err` with the entry error's code and message when it is refused.
#[allow(clippy::too_many_arguments)]
fn adjust(
    entry: &Map<String, Value>,
    product: &Product,
    i: usize,
    kept: &mut Invoices,
    now: Instant,
    ids: &mut dyn IdSource,
    who: &str,
    print: String,
) -> Result<Result<BillingAdjustment, (&'static str, String)>, ModelError> {
    let refuse = |message: String| Ok(Err(("VALIDATION_EXCEPTION", message)));
    let agreement_id = text(entry, "agreementId");
    let currency = text(entry, "currencyCode");
    if currency != "USD" {
        return refuse(format!(
            "INVALID_CURRENCY_CODE: the agreement's invoices are in USD, not {currency}"
        ));
    }
    let amount = text(entry, "adjustmentAmount");
    let Some(cents) = charge_cents(amount) else {
        return refuse(format!("INVALID_ADJUSTMENT_AMOUNT: adjustmentAmount {amount} is not a positive amount of whole cents"));
    };
    let original = text(entry, "originalInvoiceId");
    let invoices = super::invoices::of_agreement(&product.customers[i], agreement_id, kept);
    let Some(invoice) = invoices.into_iter().find(|inv| inv.id == original) else {
        return Ok(Err((
            "RESOURCE_NOT_FOUND_EXCEPTION",
            format!("Invoice {original} is not an invoice of agreement {agreement_id} (ListAgreementInvoiceLineItems lists them)"),
        )));
    };
    if invoice.kind == InvoiceType::CreditMemo {
        return refuse(format!(
            "Invoice {original} is a credit memo: adjust the invoice it credits"
        ));
    }
    let id = new_id("ba-", ids, 25)?;
    let left = invoice.cents().saturating_sub(kept.credited(&invoice.id));
    let mut adjustment = BillingAdjustment {
        id,
        agreement_id: agreement_id.to_string(),
        original_invoice_id: original.to_string(),
        amount: dollars(cents),
        reason_code: text(entry, "adjustmentReasonCode").to_string(),
        description: entry
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_string),
        status: AdjustmentStatus::Completed,
        status_message: None,
        created_at: now,
        updated_at: now,
        requester: who.to_string(),
        client_token: text(entry, "clientToken").to_string(),
        fingerprint: print,
    };
    if cents > left {
        adjustment.status = AdjustmentStatus::ValidationFailed;
        adjustment.status_message = Some(format!(
            "EXCEEDED_MAXIMUM_ADJUSTMENT_AMOUNT: invoice {original} may be credited at most {} more",
            dollars(left)
        ));
        return Ok(Ok(adjustment));
    }
    let memo = credit_memo(&invoice, &adjustment.id, &adjustment.amount, now);
    if let Err(reason) = kept.add_credit_memo(memo) {
        return refuse(format!(
            "Invoice {original} cannot be credited more: {reason}"
        ));
    }
    Ok(Ok(adjustment))
}

/// Logs the adjustment's event to `product`'s webhooks.
fn notify<S: Store + ?Sized>(
    store: &mut S,
    product: &Product,
    adjustment: &BillingAdjustment,
    when: When<'_>,
    ids: &mut dyn IdSource,
) -> Result<(), ServiceError> {
    let event = billing_adjustment_event(product, adjustment, when.now, ids.next_uuid());
    let action = match adjustment.status {
        AdjustmentStatus::ValidationFailed => "billing-adjustment-failed",
        AdjustmentStatus::Completed => "billing-adjustment-completed",
    };
    let record = EventRecord::eventbridge_only(
        action,
        product,
        vec![event],
        when.now,
        when.host_now,
        when.settings,
    );
    store.append_event(&record)?;
    Ok(())
}

/// The request as `Get` answers it.
fn view(a: &BillingAdjustment) -> Value {
    let mut out = json!({
        "billingAdjustmentRequestId": a.id,
        "agreementId": a.agreement_id,
        "adjustmentReasonCode": a.reason_code,
        "originalInvoiceId": a.original_invoice_id,
        "adjustmentAmount": a.amount,
        "currencyCode": "USD",
        "status": a.status.name(),
        "createdAt": epoch_seconds(a.created_at),
        "updatedAt": epoch_seconds(a.updated_at),
    });
    if let Some(d) = &a.description {
        out["description"] = json!(d);
    }
    if let Some(m) = &a.status_message {
        out["statusMessage"] = json!(m);
    }
    out
}

/// `GetBillingAdjustmentRequest` (the proposer's).
pub fn get<S: Store + ?Sized>(input: &Map<String, Value>, call: &Call<'_>, store: &S) -> Answer {
    let (agreement_id, id) = (
        text(input, "agreementId"),
        text(input, "billingAdjustmentRequestId"),
    );
    let not_found = || {
        ModelError::not_found(
            SERVICE,
            RESOURCE,
            id,
            format!("Billing adjustment request {id} was not found: no request of an agreement the caller proposed has that id (the namespace keeps its 200 most recent)"),
        )
    };
    let adjustments: BillingAdjustments = load_document(store)?;
    let adjustment = adjustments
        .get(id)
        .filter(|a| a.agreement_id == agreement_id)
        .ok_or_else(not_found)?;
    let (product, _) = visible_for(store, call, agreement_id, not_found)?;
    require_proposer(call, &product, || {
        format!("Billing adjustment request {id}: only the proposer of agreement {agreement_id} reads it")
    })?;
    Ok(view(adjustment))
}

/// `ListBillingAdjustmentRequests`: the requests on agreements the caller proposed, newest
/// first, by `agreementId`, `status` and creation time.
pub fn list<S: Store + ?Sized>(input: &Map<String, Value>, call: &Call<'_>, store: &S) -> Answer {
    check_catalog(input)?;
    let (wanted, status, kind) = (
        text(input, "agreementId"),
        text(input, "status"),
        text(input, "agreementType"),
    );
    let (after, before) = (
        time_member(input, "createdAfter"),
        time_member(input, "createdBefore"),
    );
    let caller = call.caller.account.as_deref();
    let mut items = Vec::new();
    if kind.is_empty() || kind == AGREEMENT_TYPE {
        let parties = agreement_parties(store)?;
        let adjustments: BillingAdjustments = load_document(store)?;
        for a in adjustments.0.iter().rev() {
            let chosen = (wanted.is_empty() || a.agreement_id == wanted)
                && (status.is_empty() || a.status.name() == status)
                && after.is_none_or(|t| a.created_at > t)
                && before.is_none_or(|t| a.created_at < t);
            if chosen && is_party_as(&parties, &a.agreement_id, caller, true) {
                items.push(json!({
                    "billingAdjustmentRequestId": a.id, "originalInvoiceId": a.original_invoice_id,
                    "adjustmentAmount": a.amount, "currencyCode": "USD", "status": a.status.name(),
                    "agreementId": a.agreement_id, "createdAt": epoch_seconds(a.created_at),
                    "updatedAt": epoch_seconds(a.updated_at), "agreementType": AGREEMENT_TYPE,
                    "catalog": "AWSMarketplace",
                }));
            }
        }
    }
    let listing = format!(
        "ListBillingAdjustmentRequests\n{}\n{wanted}\n{status}\n{kind}\n{after:?}\n{before:?}",
        call.caller.identity()
    );
    let (items, next) = page(SERVICE, items, input, call, &listing, 50)?;
    Ok(with_next(json!({ "items": items }), next))
}
