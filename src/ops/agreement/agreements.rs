//! The seller's (and the buyer's) reads of an agreement, and the buyer's cancellation:
//! `DescribeAgreement`, `GetAgreementTerms`, `GetAgreementContacts`,
//! `GetAgreementEntitlements`, `CancelAgreement` (`SearchAgreements` is in search.rs). A
//! party sees an agreement (its acceptor, its proposer, or the wildcard caller); anyone else
//! gets `ResourceNotFoundException`, as if it did not exist.

use serde_json::{json, Map, Value};

use super::{agreement, end_agreement, page, storage, text, with_next, Answer, Call, When};
use crate::domain::agreement::{self as rules, ENTITLEMENT_TOKEN_TTL_SECONDS};
use crate::domain::catalogue::{Customer, Product};
use crate::domain::contract::total;
use crate::domain::ids::IdSource;
use crate::domain::offer::{proposer_of, Offer};
use crate::domain::registration::{self, TokenRecord};
use crate::domain::time::Instant;
use crate::model::error::ModelError;
use crate::model::ModelService;
use crate::ops::shapes::epoch_seconds;
use crate::store::Store;

const SERVICE: ModelService = ModelService::Agreement;
pub(super) const AGREEMENT_TYPE: &str = "PurchaseAgreement";
/// The resource type of the products agreements are made for (SaaS listings).
pub(super) const RESOURCE_TYPE: &str = "SaaSProduct";

/// Whether `e` says the resource was not found (rather than that the storage failed).
pub(super) fn is_not_found(e: &ModelError) -> bool {
    e.name == "ResourceNotFoundException"
}

/// Agreement `id` as the caller may see it, for a request of it: when the caller may not,
/// the request is what is not found (`not_found`).
pub(super) fn visible_for<S: Store + ?Sized>(
    store: &S,
    call: &Call<'_>,
    id: &str,
    not_found: impl FnOnce() -> ModelError,
) -> Result<(Product, usize), ModelError> {
    visible(store, call, id).map_err(|e| if is_not_found(&e) { not_found() } else { e })
}

/// The agreement `id` as the caller may see it, else `ResourceNotFoundException`.
pub(super) fn visible<S: Store + ?Sized>(
    store: &S,
    call: &Call<'_>,
    id: &str,
) -> Result<(Product, usize), ModelError> {
    let found = agreement(store, id)?.filter(|(product, i)| {
        rules::is_party(
            &product.customers[*i],
            &proposer_of(product),
            call.caller.account.as_deref(),
        )
    });
    found.ok_or_else(|| {
        ModelError::not_found(
            SERVICE,
            "Agreement",
            id,
            format!("Agreement {id} was not found: no agreement of this namespace with that id has the caller as a party"),
        )
    })
}

fn time(at: Option<Instant>) -> Option<Value> {
    at.map(epoch_seconds)
}

fn accepted(customer: &Customer) -> Option<Value> {
    time(rules::accepted_at(customer))
}

fn parties(product: &Product, customer: &Customer) -> (Value, Value) {
    (
        json!({"accountId": customer.customer_aws_account_id.as_deref().unwrap_or_default()}),
        json!({"accountId": proposer_of(product)}),
    )
}

/// What the agreement was proposed on: the product, and the offer its customer names (a
/// private one), else the public offer.
fn proposal_summary(offer: &Offer, customer: &Customer) -> Value {
    json!({"resources": [{"id": offer.product_id, "type": RESOURCE_TYPE}], "offerId": offer.id_for(customer)})
}

/// Inserts `key: value` when there is a value.
fn put(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        map.insert(key.into(), v);
    }
}

/// `DescribeAgreement`
pub fn describe<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &S,
) -> Answer {
    let (product, i) = visible(store, call, text(input, "agreementId"))?;
    let customer = &product.customers[i];
    let offer = Offer::public(&product);
    let (acceptor, proposer) = parties(&product, customer);
    let mut out = Map::new();
    out.insert("agreementId".into(), json!(rules::agreement_id(customer)));
    // The first agreement of the license's chain of renewals and replacements.
    out.insert(
        "initialAgreementId".into(),
        json!(customer.initial_agreement_id()),
    );
    out.insert("acceptor".into(), acceptor);
    out.insert("proposer".into(), proposer);
    put(&mut out, "acceptanceTime", accepted(customer));
    put(&mut out, "startTime", accepted(customer));
    // A contract ends; a pay-as-you-go agreement has no end.
    put(&mut out, "endTime", time(customer.ends_at));
    put(
        &mut out,
        "endTimeBehavior",
        super::end_behavior(&product, customer).map(|(kind, reason)| match reason {
            Some(reason) => json!({"type": kind, "reasonCode": reason}),
            None => json!({ "type": kind }),
        }),
    );
    out.insert("agreementType".into(), json!(AGREEMENT_TYPE));
    // What was charged up front (nothing, pay-as-you-go: usage is billed as metered).
    out.insert(
        "estimatedCharges".into(),
        json!({"currencyCode": "USD", "agreementValue": total(&customer.charges)}),
    );
    out.insert("proposalSummary".into(), proposal_summary(&offer, customer));
    out.insert("status".into(), json!(rules::status(customer, call.now)));
    if let Some(end) = customer.trial_ends_at {
        out.insert(
            "freeTrialSummary".into(),
            json!({ "trialEndTime": epoch_seconds(end) }),
        );
    }
    Ok(Value::Object(out))
}

/// `GetAgreementContacts`: the contact the buyer gave with its request. As documented,
/// an agreement without one, or no longer active, answers without `acceptorContact`.
pub fn contacts<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &S,
) -> Answer {
    let (product, i) = visible(store, call, text(input, "agreementId"))?;
    let customer = &product.customers[i];
    match &customer.acceptor_contact {
        Some(contact) if rules::is_active(customer, call.now) => {
            Ok(json!({ "acceptorContact": contact }))
        }
        _ => Ok(json!({})),
    }
}

/// `GetAgreementTerms`: the accepted terms, paged. They are the offer's as it stands: a
/// product's prices changed after the acceptance show here too (docs/decisions.md). A
/// contract's term carries the buyer's configuration, and its validity term the dates.
pub fn terms<S: Store + ?Sized>(input: &Map<String, Value>, call: &Call<'_>, store: &S) -> Answer {
    let id = text(input, "agreementId");
    let (product, i) = visible(store, call, id)?;
    let customer = &product.customers[i];
    let offer = Offer::of(&product, customer);
    let choice = customer.contract.as_ref();
    let mut terms: Vec<Value> = offer
        .terms
        .iter()
        .filter(|t| !t.is_contract_only() || choice.is_some())
        .map(|t| {
            t.accepted_with(
                choice,
                customer.auto_renew,
                customer.variable_payment.as_ref(),
            )
        })
        .collect();
    // A contract taken with a free trial starts when the trial ends.
    let start = customer.trial_ends_at.or(rules::accepted_at(customer));
    if let (Some(choice), Some(start), Some(end)) = (choice, start, customer.ends_at) {
        terms.push(json!({"validityTerm": {
            "type": "ValidityTerm",
            "id": format!("{}-validity", offer.contract_term().map_or("term", |t| t.id())),
            "agreementDuration": choice.duration,
            "agreementStartDate": epoch_seconds(start),
            "agreementEndDate": epoch_seconds(end),
        }}));
    }
    let listing = format!("GetAgreementTerms\n{id}");
    let (terms, next) = page(SERVICE, terms, input, call, &listing, 50)?;
    Ok(with_next(json!({ "acceptedTerms": terms }), next))
}

/// `GetAgreementEntitlements`: the license, and for the acceptor of an active agreement a
/// registration token (valid 30 minutes) to give the seller's registration page.
pub fn entitlements<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
    ids: &mut dyn IdSource,
) -> Answer {
    let id = text(input, "agreementId");
    let (product, i) = visible(store, call, id)?;
    let customer = &product.customers[i];
    let offer = Offer::public(&product);
    let (status, reason) = rules::entitlement_status(customer, call.now);
    let entitlement = json!({
        "resource": {"id": offer.product_id, "type": RESOURCE_TYPE},
        "type": "SaaS",
        "status": status,
        "statusReasonCode": reason,
        "licenseArn": customer.license_arn,
    });
    // The page is checked before a token is minted, so a refused call stores nothing.
    let listing = format!("GetAgreementEntitlements\n{id}");
    let (mut list, next) = page(SERVICE, vec![entitlement], input, call, &listing, 50)?;
    let acceptor = rules::is_acceptor(customer, call.caller.account.as_deref());
    if let Some(entitlement) = list
        .first_mut()
        .filter(|_| acceptor && rules::is_active(customer, call.now))
    {
        entitlement["registrationToken"] = json!(mint(store, call, &product, customer, ids)?);
    }
    Ok(with_next(json!({ "agreementEntitlements": list }), next))
}

/// A registration token for the customer, kept like the control API's.
fn mint<S: Store + ?Sized>(
    store: &mut S,
    call: &Call<'_>,
    product: &Product,
    customer: &Customer,
    ids: &mut dyn IdSource,
) -> Result<String, ModelError> {
    let internal =
        |e: String| ModelError::of_service(SERVICE, &crate::error::ServiceError::internal(e));
    let mut record = TokenRecord::for_customer(
        call.namespace,
        call.incarnation,
        &product.product_code,
        customer,
        None,
        call.now,
        ENTITLEMENT_TOKEN_TTL_SECONDS,
    );
    // A customer listed without an agreement id is read under its derived one.
    if record.agreement_id.is_none() {
        record.agreement_id = rules::agreement_id(customer).and_then(|id| id.parse().ok());
    }
    let token = registration::new_token(ids).map_err(internal)?;
    let key = registration::token_key(call.namespace, &token)
        .ok_or_else(|| internal("a minted token must be well formed".into()))?;
    let text = serde_json::to_string(&record).map_err(|e| internal(e.to_string()))?;
    store
        .put_registration_token(&key, &text, record.keep_until(), call.now)
        .map_err(storage(SERVICE))?;
    Ok(token)
}

/// `CancelAgreement` (the buyer's): the license is deprovisioned and the seller may meter it
/// for one more hour (the subscription's `unsubscribe-pending`).
pub fn cancel<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
    ids: &mut dyn IdSource,
) -> Answer {
    let id = text(input, "agreementId");
    let (product, i) = visible(store, call, id)?;
    let customer = &product.customers[i];
    if !rules::is_acceptor(customer, call.caller.account.as_deref()) {
        return Err(ModelError::modeled(
            SERVICE,
            "AccessDeniedException",
            format!("Only the acceptor of agreement {id} can cancel it; its proposer sends a cancellation request"),
        )
        .with("reason", "INVALID_ACCESS"));
    }
    if !rules::is_active(customer, call.now) {
        return Err(ModelError::modeled(
            SERVICE,
            "ConflictException",
            format!(
                "Agreement {id} is {}: only an active agreement can be cancelled",
                rules::status(customer, call.now)
            ),
        )
        .with("resourceId", id)
        .with("resourceType", "Agreement"));
    }
    end_agreement(store, product, i, When::of(call), ids)
        .map_err(|e| ModelError::of_service(SERVICE, &e))?;
    Ok(json!({}))
}

/// An agreement as `SearchAgreements` lists it.
pub(super) fn summary(
    product: &Product,
    customer: &Customer,
    offer: &Offer,
    now: Instant,
) -> Value {
    let (acceptor, proposer) = parties(product, customer);
    let mut out = Map::new();
    out.insert("agreementId".into(), json!(rules::agreement_id(customer)));
    out.insert(
        "initialAgreementId".into(),
        json!(customer.initial_agreement_id()),
    );
    put(&mut out, "acceptanceTime", accepted(customer));
    put(&mut out, "startTime", accepted(customer));
    put(&mut out, "endTime", time(customer.ends_at));
    put(
        &mut out,
        "lastUpdateTime",
        time(rules::last_update(customer)),
    );
    out.insert("agreementType".into(), json!(AGREEMENT_TYPE));
    out.insert("acceptor".into(), acceptor);
    out.insert("proposer".into(), proposer);
    out.insert("proposalSummary".into(), proposal_summary(offer, customer));
    out.insert("status".into(), json!(rules::status(customer, now)));
    out.insert(
        "entitlements".into(),
        json!([{"licenseArn": customer.license_arn}]),
    );
    put(&mut out, "freeTrialEndTime", time(customer.trial_ends_at));
    Value::Object(out)
}
