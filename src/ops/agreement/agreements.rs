//! The seller's (and the buyer's) reads of agreements, and the buyer's cancellation:
//! `DescribeAgreement`, `GetAgreementTerms`, `GetAgreementEntitlements`, `SearchAgreements`,
//! `CancelAgreement`. A party sees an agreement (its acceptor, its proposer, or the wildcard
//! caller); anyone else gets `ResourceNotFoundException`, as if it did not exist.

use serde_json::{json, Map, Value};

use super::{agreement, agreement_customers, notify, page, storage, text, Answer, Call};
use crate::domain::agreement::{self as rules, ENTITLEMENT_TOKEN_TTL_SECONDS};
use crate::domain::catalogue::{Customer, Product};
use crate::domain::ids::IdSource;
use crate::domain::notification::Change;
use crate::domain::offer::{proposer_of, Offer};
use crate::domain::registration::{self, TokenRecord};
use crate::domain::subscription::{LifecycleAction, SubscriptionState};
use crate::domain::time::Instant;
use crate::model::error::ModelError;
use crate::model::ModelService;
use crate::ops::shapes::epoch_seconds;
use crate::store::Store;

const SERVICE: ModelService = ModelService::Agreement;
const AGREEMENT_TYPE: &str = "PurchaseAgreement";
/// The resource type of the products agreements are made for (SaaS listings).
const RESOURCE_TYPE: &str = "SaaSProduct";

/// The agreement `id` as the caller may see it, else `ResourceNotFoundException`.
fn visible<S: Store + ?Sized>(
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

/// When the agreement began: its acceptance, else when its customer's state began.
fn accepted(customer: &Customer) -> Option<Value> {
    time(customer.accepted_at.or(customer.subscription_changed_at))
}

fn parties(product: &Product, customer: &Customer) -> (Value, Value) {
    (
        json!({"accountId": customer.customer_aws_account_id.as_deref().unwrap_or_default()}),
        json!({"accountId": proposer_of(product)}),
    )
}

fn proposal_summary(offer: &Offer) -> Value {
    json!({"resources": [{"id": offer.product_id, "type": RESOURCE_TYPE}], "offerId": offer.offer_id})
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
    out.insert("acceptor".into(), acceptor);
    out.insert("proposer".into(), proposer);
    put(&mut out, "acceptanceTime", accepted(customer));
    put(&mut out, "startTime", accepted(customer));
    out.insert("agreementType".into(), json!(AGREEMENT_TYPE));
    // Pay-as-you-go: nothing is due up front, and the agreement has no end.
    out.insert(
        "estimatedCharges".into(),
        json!({"currencyCode": "USD", "agreementValue": "0.00"}),
    );
    out.insert("proposalSummary".into(), proposal_summary(&offer));
    out.insert("status".into(), json!(rules::status(customer)));
    Ok(Value::Object(out))
}

/// `GetAgreementTerms`: the accepted terms (the offer's), paged.
pub fn terms<S: Store + ?Sized>(input: &Map<String, Value>, call: &Call<'_>, store: &S) -> Answer {
    let id = text(input, "agreementId");
    let (product, _) = visible(store, call, id)?;
    let terms: Vec<Value> = Offer::public(&product)
        .terms
        .iter()
        .map(|t| t.accepted())
        .collect();
    let (terms, next) = page(
        SERVICE,
        terms,
        input,
        call,
        &format!("GetAgreementTerms\n{id}"),
        50,
    )?;
    let mut out = json!({ "acceptedTerms": terms });
    if let Some(next) = next {
        out["nextToken"] = json!(next);
    }
    Ok(out)
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
    let (status, reason) = rules::entitlement_status(customer);
    let mut entitlement = json!({
        "resource": {"id": offer.product_id, "type": RESOURCE_TYPE},
        "type": "SaaS",
        "status": status,
        "statusReasonCode": reason,
        "licenseArn": customer.license_arn,
    });
    let acceptor = call.caller.account.is_none()
        || call.caller.account.as_deref() == customer.customer_aws_account_id.as_deref();
    if acceptor && rules::status(customer) == "ACTIVE" {
        entitlement["registrationToken"] = json!(mint(store, call, &product, customer, ids)?);
    }
    let (list, next) = page(
        SERVICE,
        vec![entitlement],
        input,
        call,
        &format!("GetAgreementEntitlements\n{id}"),
        50,
    )?;
    let mut out = json!({ "agreementEntitlements": list });
    if let Some(next) = next {
        out["nextToken"] = json!(next);
    }
    Ok(out)
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
    let record = TokenRecord::for_customer(
        call.namespace,
        call.incarnation,
        &product.product_code,
        customer,
        None,
        call.now,
        ENTITLEMENT_TOKEN_TTL_SECONDS,
    );
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
    let (mut product, i) = visible(store, call, id)?;
    let customer = &product.customers[i];
    let acceptor = call.caller.account.is_none()
        || call.caller.account.as_deref() == customer.customer_aws_account_id.as_deref();
    if !acceptor {
        return Err(ModelError::modeled(
            SERVICE,
            "AccessDeniedException",
            format!("Only the acceptor of agreement {id} can cancel it; its proposer sends a cancellation request"),
        )
        .with("reason", "INVALID_ACCESS"));
    }
    if rules::status(customer) != "ACTIVE" {
        return Err(ModelError::modeled(
            SERVICE,
            "ConflictException",
            format!(
                "Agreement {id} is {}: only an active agreement can be cancelled",
                rules::status(customer)
            ),
        )
        .with("resourceId", id)
        .with("resourceType", "Agreement"));
    }
    let customer = &mut product.customers[i];
    customer.subscription = SubscriptionState::UnsubscribePending;
    customer.subscription_changed_at = Some(call.now);
    store.put_product(&product).map_err(storage(SERVICE))?;
    let change = Change::Lifecycle(LifecycleAction::UnsubscribePending);
    notify(store, change, &product, i, call, ids)?;
    Ok(json!({}))
}

/// The filters `SearchAgreements` takes besides `PartyType` and `AgreementType`, by party.
const PROPOSER_FILTERS: [&str; 8] = [
    "ResourceIdentifier",
    "ResourceType",
    "AcceptorAccountId",
    "OfferId",
    "OfferSetId",
    "Status",
    "BeforeEndTime",
    "AfterEndTime",
];

fn invalid(reason: &str, message: String) -> ModelError {
    ModelError::validation(SERVICE, reason, message, &[])
}

/// The filters of a search, by name, checked: known names, one of each, `PartyType` and
/// `AgreementType` given, and only combinations the operation documents.
fn filters(input: &Map<String, Value>) -> Result<Map<String, Value>, ModelError> {
    let mut named = Map::new();
    for filter in input
        .get("filters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = filter
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let value = filter
            .get("values")
            .and_then(|v| v.get(0))
            .cloned()
            .unwrap_or(Value::Null);
        let known =
            name == "PartyType" || name == "AgreementType" || PROPOSER_FILTERS.contains(&name);
        if !known {
            return Err(invalid(
                "INVALID_FILTER_NAME",
                format!(
                    "Filter name {name} is not one of PartyType, AgreementType, {}",
                    PROPOSER_FILTERS.join(", ")
                ),
            ));
        }
        if named.insert(name.to_string(), value).is_some() {
            return Err(invalid(
                "INVALID_FILTERS",
                format!("Filter {name} is given twice"),
            ));
        }
    }
    match named.get("PartyType").and_then(Value::as_str) {
        None => {
            return Err(invalid(
                "MISSING_PARTY_TYPE",
                "A PartyType filter (Proposer or Acceptor) is required".into(),
            ))
        }
        Some("Proposer" | "Acceptor") => {}
        Some(other) => {
            return Err(invalid(
                "INVALID_PARTY_TYPE",
                format!("PartyType {other} is not Proposer or Acceptor"),
            ))
        }
    }
    match named.get("AgreementType").and_then(Value::as_str) {
        None => {
            return Err(invalid(
                "INVALID_FILTERS",
                "An AgreementType filter (PurchaseAgreement) is required".into(),
            ))
        }
        Some(AGREEMENT_TYPE) => {}
        Some(other) => {
            return Err(invalid(
                "INVALID_AGREEMENT_TYPE",
                format!("AgreementType {other} is not {AGREEMENT_TYPE}"),
            ))
        }
    }
    let has = |n: &str| named.contains_key(n);
    let unsupported = (has("OfferId") && has("OfferSetId"))
        || (has("ResourceIdentifier") && has("ResourceType"))
        || (named["PartyType"] == "Acceptor" && has("AcceptorAccountId"));
    if unsupported {
        return Err(invalid("UNSUPPORTED_FILTERS", "This combination of filters is not supported: OfferId and OfferSetId, or ResourceIdentifier and ResourceType, go alone, and an acceptor does not filter by AcceptorAccountId".into()));
    }
    Ok(named)
}

/// A pay-as-you-go agreement has no end: it sorts as AWS's events date it, 9999-01-01.
const OPEN_END_SECONDS: f64 = 253_370_764_800.0;

/// `SearchAgreements`
pub fn search<S: Store + ?Sized>(input: &Map<String, Value>, call: &Call<'_>, store: &S) -> Answer {
    let catalog = text(input, "catalog");
    if !catalog.is_empty() && catalog != "AWSMarketplace" {
        return Err(invalid(
            "INVALID_CATALOG",
            format!("Catalog {catalog} is not AWSMarketplace"),
        ));
    }
    let named = filters(input)?;
    let sort = input.get("sort");
    if let Some(by) = sort.and_then(|s| s.get("sortBy")).and_then(Value::as_str) {
        if by != "EndTime" {
            return Err(invalid(
                "INVALID_SORT_BY",
                format!("sortBy {by} is not EndTime"),
            ));
        }
    }
    let ascending = sort
        .and_then(|s| s.get("sortOrder"))
        .and_then(Value::as_str)
        == Some("ASCENDING");
    let as_proposer = named["PartyType"] == "Proposer";
    let caller = call.caller.account.as_deref();
    let wanted = |key: &str| named.get(key).and_then(Value::as_str);
    for bound in ["BeforeEndTime", "AfterEndTime"] {
        if let Some(v) = wanted(bound).filter(|v| Instant::parse_rfc3339(v).is_none()) {
            return Err(invalid(
                "INVALID_FILTER_VALUES",
                format!("{bound} {v} is not an RFC 3339 time"),
            ));
        }
    }
    let mut found = Vec::new();
    for product in store.products().map_err(storage(SERVICE))? {
        let offer = Offer::public(&product);
        let proposer = proposer_of(&product);
        for i in agreement_customers(&product) {
            let customer = &product.customers[i];
            let acceptor = customer
                .customer_aws_account_id
                .as_deref()
                .unwrap_or_default();
            let mine = match caller {
                None => true,
                Some(account) if as_proposer => account == proposer,
                Some(account) => account == acceptor,
            };
            let keep = mine
                && wanted("ResourceIdentifier").is_none_or(|v| v == offer.product_id || v == &product.product_code[..])
                && wanted("ResourceType").is_none_or(|v| v == RESOURCE_TYPE)
                && wanted("AcceptorAccountId").is_none_or(|v| v == acceptor)
                && wanted("OfferId").is_none_or(|v| v == offer.offer_id)
                && wanted("OfferSetId").is_none()
                && wanted("Status").is_none_or(|v| v == rules::status(customer))
                // Pay-as-you-go agreements have no end: none ends before a time.
                && !named.contains_key("BeforeEndTime");
            if keep {
                found.push(summary(&product, customer, &offer));
            }
        }
    }
    found.sort_by(|a, b| {
        let key = |v: &Value| {
            (
                v["endTime"].as_f64().unwrap_or(OPEN_END_SECONDS).to_bits(),
                v["agreementId"].as_str().unwrap_or_default().to_string(),
            )
        };
        if ascending {
            key(a).cmp(&key(b))
        } else {
            key(b).cmp(&key(a))
        }
    });
    let listing = format!(
        "SearchAgreements\n{}",
        serde_json::to_string(&named).unwrap_or_default()
    );
    let (list, next) = page(SERVICE, found, input, call, &listing, 50)?;
    let mut out = json!({ "agreementViewSummaries": list });
    if let Some(next) = next {
        out["nextToken"] = json!(next);
    }
    Ok(out)
}

fn summary(product: &Product, customer: &Customer, offer: &Offer) -> Value {
    let (acceptor, proposer) = parties(product, customer);
    let mut out = Map::new();
    out.insert("agreementId".into(), json!(rules::agreement_id(customer)));
    put(&mut out, "acceptanceTime", accepted(customer));
    put(&mut out, "startTime", accepted(customer));
    put(
        &mut out,
        "lastUpdateTime",
        time(customer.subscription_changed_at.or(customer.accepted_at)),
    );
    out.insert("agreementType".into(), json!(AGREEMENT_TYPE));
    out.insert("acceptor".into(), acceptor);
    out.insert("proposer".into(), proposer);
    out.insert("proposalSummary".into(), proposal_summary(offer));
    out.insert("status".into(), json!(rules::status(customer)));
    out.insert(
        "entitlements".into(),
        json!([{"licenseArn": customer.license_arn}]),
    );
    Value::Object(out)
}
