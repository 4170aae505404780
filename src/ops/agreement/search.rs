//! `SearchAgreements`: the caller's agreements as proposer or acceptor (`PartyType`), by the
//! filters the model documents. A proposer may combine any of them; an acceptor only the
//! combinations the model lists. `AgreementType` (`PurchaseAgreement`) and `PartyType` are
//! required. Sorted by end, start or last update time; paged.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::agreements::{summary, AGREEMENT_TYPE, RESOURCE_TYPE};
use super::{
    agreement_record, agreement_records, check_catalog, end_behavior, page, storage, with_next,
    Answer, Call,
};
use crate::domain::agreement::{self as rules, AGREEMENT_STATUSES};
use crate::domain::catalogue::{Customer, Product};
use crate::domain::offer::{proposer_of, Offer};
use crate::domain::time::Instant;
use crate::model::error::ModelError;
use crate::model::ModelService;
use crate::store::Store;

const SERVICE: ModelService = ModelService::Agreement;

/// Every filter name the model documents.
const FILTERS: [&str; 19] = [
    "ResourceIdentifier",
    "ResourceType",
    "PartyType",
    "AcceptorAccountId",
    "OfferId",
    "Status",
    "BeforeEndTime",
    "AfterEndTime",
    "BeforeStartTime",
    "AfterStartTime",
    "BeforeLastUpdateTime",
    "AfterLastUpdateTime",
    "AgreementType",
    "OfferSetId",
    "EndTimeBehaviorType",
    "EndTimeBehaviorReasonCode",
    "InitialAgreementId",
    "LicenseArn",
    "IncludesContactOfType",
];

fn invalid(reason: &str, message: String) -> ModelError {
    ModelError::validation(SERVICE, reason, message, &[])
}

/// The search's filters by name (each with its one value), checked.
struct Query {
    proposer: bool,
    filters: BTreeMap<String, String>,
}

impl Query {
    fn read(input: &Map<String, Value>) -> Result<Query, ModelError> {
        let filters = named_filters(input)?;
        let proposer = match filters.get("PartyType").map(String::as_str) {
            None => {
                return Err(invalid(
                    "MISSING_PARTY_TYPE",
                    "A PartyType filter (Proposer or Acceptor) is required".into(),
                ))
            }
            Some("Proposer") => true,
            Some("Acceptor") => false,
            Some(other) => {
                return Err(invalid(
                    "INVALID_PARTY_TYPE",
                    format!("PartyType {other} is not Proposer or Acceptor"),
                ))
            }
        };
        match filters.get("AgreementType").map(String::as_str) {
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
        check_values(&filters)?;
        let query = Query { proposer, filters };
        if !query.proposer && !query.acceptor_combination() {
            return Err(invalid(
                "UNSUPPORTED_FILTERS",
                "This combination of filters is not supported for an acceptor: AgreementType with Status and end times, optionally with one of ResourceIdentifier, OfferId or OfferSetId, or with ResourceType and end times".into(),
            ));
        }
        Ok(query)
    }

    /// Whether the filters are one of the combinations the model lists for an acceptor.
    fn acceptor_combination(&self) -> bool {
        let others: Vec<&str> = self
            .filters
            .keys()
            .map(String::as_str)
            .filter(|n| {
                !matches!(
                    *n,
                    "PartyType" | "AgreementType" | "BeforeEndTime" | "AfterEndTime"
                )
            })
            .collect();
        match others.as_slice() {
            [] | ["Status"] => true,
            ["ResourceType"] => true,
            [one] | [one, "Status"] | ["Status", one] => {
                matches!(*one, "ResourceIdentifier" | "OfferId" | "OfferSetId")
            }
            _ => false,
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.filters.get(name).map(String::as_str)
    }

    /// Whether a time (`None`: never, as a pay-as-you-go agreement's end) passes the
    /// `Before<what>` and `After<what>` filters.
    fn within(&self, what: &str, at: Option<Instant>) -> bool {
        let bound = |prefix: &str| {
            self.get(&format!("{prefix}{what}"))
                .and_then(Instant::parse_rfc3339)
        };
        let before = bound("Before").is_none_or(|b| at.is_some_and(|t| t < b));
        let after = bound("After").is_none_or(|a| at.is_none_or(|t| t > a));
        before && after
    }

    fn matches(&self, product: &Product, offer: &Offer, customer: &Customer, now: Instant) -> bool {
        let product_code: &str = &product.product_code;
        let is = |name: &str, value: Option<&str>| {
            self.get(name).is_none_or(|wanted| Some(wanted) == value)
        };
        // What no agreement of the mock has (offer sets) matches nothing.
        let absent = ["OfferSetId"];
        let behavior = end_behavior(product, customer);
        // The one contact an agreement has is its acceptor's.
        let contact = customer.acceptor_contact.as_ref().map(|_| "ACCEPTOR");
        self.get("ResourceIdentifier")
            .is_none_or(|v| v == offer.product_id || v == product_code)
            && is("ResourceType", Some(RESOURCE_TYPE))
            && is(
                "AcceptorAccountId",
                customer.customer_aws_account_id.as_deref(),
            )
            && is("OfferId", Some(offer.id_for(customer)))
            && is("Status", Some(rules::status(customer, now)))
            && is(
                "InitialAgreementId",
                customer.initial_agreement_id().as_deref(),
            )
            && is("LicenseArn", customer.license_arn.as_deref())
            && is("IncludesContactOfType", contact)
            && is("EndTimeBehaviorType", behavior.map(|b| b.0))
            && is("EndTimeBehaviorReasonCode", behavior.and_then(|b| b.1))
            && absent.iter().all(|name| self.get(name).is_none())
            && self.within("EndTime", customer.ends_at)
            && self.within("StartTime", rules::accepted_at(customer))
            && self.within("LastUpdateTime", rules::last_update(customer))
    }
}

/// The input's filters by name, each known, given once, with its one value.
fn named_filters(input: &Map<String, Value>) -> Result<BTreeMap<String, String>, ModelError> {
    let mut filters = BTreeMap::new();
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
        if name.is_empty() {
            return Err(invalid(
                "MISSING_FILTER_NAME",
                "Every filter needs a name".into(),
            ));
        }
        if !FILTERS.contains(&name) {
            return Err(invalid(
                "INVALID_FILTER_NAME",
                format!("Filter name {name} is not one of {}", FILTERS.join(", ")),
            ));
        }
        let Some(value) = filter
            .get("values")
            .and_then(|v| v.get(0))
            .and_then(Value::as_str)
        else {
            return Err(invalid(
                "MISSING_FILTER_VALUES",
                format!("Filter {name} needs one value"),
            ));
        };
        if filters
            .insert(name.to_string(), value.to_string())
            .is_some()
        {
            return Err(invalid(
                "INVALID_FILTERS",
                format!("Filter {name} is given twice"),
            ));
        }
    }
    Ok(filters)
}

/// Status values the model names, times in RFC 3339.
fn check_values(filters: &BTreeMap<String, String>) -> Result<(), ModelError> {
    if let Some(status) = filters
        .get("Status")
        .filter(|s| !AGREEMENT_STATUSES.contains(&s.as_str()))
    {
        return Err(invalid(
            "INVALID_FILTER_VALUES",
            format!(
                "Status {status} is not one of {}",
                AGREEMENT_STATUSES.join(", ")
            ),
        ));
    }
    let is_time = |name: &str| name.starts_with("Before") || name.starts_with("After");
    for (name, value) in filters {
        if is_time(name) && Instant::parse_rfc3339(value).is_none() {
            return Err(invalid(
                "INVALID_FILTER_VALUES",
                format!("{name} {value} is not an RFC 3339 time"),
            ));
        }
    }
    Ok(())
}

/// The time `sortBy` orders by (`EndTime` always; the others for a proposer only).
fn sort_key(by: &str, proposer: bool) -> Result<fn(&Customer) -> Option<Instant>, ModelError> {
    match by {
        "EndTime" => Ok(|c| c.ends_at),
        "StartTime" if proposer => Ok(rules::accepted_at),
        "LastUpdateTime" if proposer => Ok(rules::last_update),
        _ => Err(invalid(
            "INVALID_SORT_BY",
            format!("sortBy {by} is not EndTime, or StartTime or LastUpdateTime for a proposer"),
        )),
    }
}

/// `SearchAgreements`
pub fn search<S: Store + ?Sized>(input: &Map<String, Value>, call: &Call<'_>, store: &S) -> Answer {
    check_catalog(input)?;
    let query = Query::read(input)?;
    let sort = input.get("sort");
    let by = sort
        .and_then(|s| s.get("sortBy"))
        .and_then(Value::as_str)
        .unwrap_or("EndTime");
    let key = sort_key(by, query.proposer)?;
    let ascending = sort
        .and_then(|s| s.get("sortOrder"))
        .and_then(Value::as_str)
        == Some("ASCENDING");
    let caller = call.caller.account.as_deref();
    let mut found = Vec::new();
    for product in store.products().map_err(storage(SERVICE))? {
        let offer = Offer::public(&product);
        let proposer = proposer_of(&product);
        for record in agreement_records(&product) {
            let customer = &*agreement_record(&product, record);
            let mine = match caller {
                None => true,
                Some(account) if query.proposer => account == proposer,
                Some(account) => customer.customer_aws_account_id.as_deref() == Some(account),
            };
            if mine && query.matches(&product, &offer, customer, call.now) {
                // A missing time (a pay-as-you-go end) sorts after every other.
                let at = key(customer).map_or(i64::MAX, |t| t.millis());
                found.push((
                    at,
                    rules::agreement_id(customer),
                    summary(&product, customer, &offer, call.now),
                ));
            }
        }
    }
    found.sort_by(|a, b| {
        if ascending {
            (a.0, &a.1).cmp(&(b.0, &b.1))
        } else {
            (b.0, &b.1).cmp(&(a.0, &a.1))
        }
    });
    let listing = format!(
        "SearchAgreements\n{}\n{}\n{by}\n{ascending}",
        call.caller.identity(),
        serde_json::to_string(&query.filters).unwrap_or_default()
    );
    let found: Vec<Value> = found.into_iter().map(|(_, _, summary)| summary).collect();
    let (list, next) = page(SERVICE, found, input, call, &listing, 50)?;
    Ok(with_next(json!({ "agreementViewSummaries": list }), next))
}
