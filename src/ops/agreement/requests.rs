//! The buyer's path to an agreement: `CreateAgreementRequest` (a quote on an offer's
//! proposal, its requested terms checked against the offer), `GetAgreementRequest`,
//! `CancelAgreementRequest` and `AcceptAgreementRequest`. A `NEW` agreement is a new customer
//! of the product: the requester's account (a new random one for the wildcard caller), a new
//! license and agreement id, subscribed from that moment. An `AMEND` changes an agreement's
//! contract in place; a `REPLACE` gives its license a new agreement on another offer.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Map, Value};

use super::{
    agreement, check_catalog, fingerprint, new_id, notify, offer_of, page, product_of,
    product_offering, requester, storage, text, with_next, Answer, Call, When,
};
use crate::domain::agreement::{
    self as rules, AgreementRequest, AgreementRequests, Amends, RequestStatus,
    MAX_AGREEMENT_REQUESTS,
};
use crate::domain::approval::ApprovalStatus;
use crate::domain::catalogue::{AcceptorContact, Customer, Integration, Product, Supersession};
use crate::domain::contract::{sum, Charge, ContractChoice, Quote, MAX_CHARGES};
use crate::domain::ids::IdSource;
use crate::domain::notification::Change;
use crate::domain::offer::{proposer_of, Offer, Term};
use crate::domain::payment::VariablePaymentChoice;
use crate::domain::subscription::{LifecycleAction, SubscriptionState};
use crate::domain::time::Instant;
use crate::error::ServiceError;
use crate::model::error::ModelError;
use crate::model::ModelService;
use crate::ops::shapes::epoch_seconds;
use crate::store::{documents, Store};

const SERVICE: ModelService = ModelService::Agreement;

fn invalid(reason: &str, message: String, field: &str) -> ModelError {
    ModelError::validation(SERVICE, reason, message.clone(), &[(field, &message)])
}

fn internal(e: impl std::fmt::Display) -> ModelError {
    ModelError::of_service(SERVICE, &ServiceError::internal(e))
}

/// The namespace's agreement requests (one document).
fn load<S: Store + ?Sized>(store: &S) -> Result<AgreementRequests, ModelError> {
    documents::load(store).map_err(|e| ModelError::of_service(SERVICE, &e))
}

fn save<S: Store + ?Sized>(store: &mut S, requests: &AgreementRequests) -> Result<(), ModelError> {
    documents::save(store, requests).map_err(|e| ModelError::of_service(SERVICE, &e))
}

/// The request `id` as its requester (or the wildcard caller) sees it.
fn visible<'r>(
    requests: &'r AgreementRequests,
    call: &Call<'_>,
    id: &str,
) -> Result<&'r AgreementRequest, ModelError> {
    requests
        .get(id)
        .filter(|r| call.caller.account.is_none() || r.requester == requester(call))
        .ok_or_else(|| {
            ModelError::not_found(
                SERVICE,
                "AgreementRequest",
                id,
                format!("Agreement request {id} was not found: no request of the caller in this namespace has that id (the namespace keeps its {MAX_AGREEMENT_REQUESTS} most recent)"),
            )
        })
}

/// The charge summary of a request: a contract's price, charged on acceptance and itemized
/// per dimension; usage-based terms charge nothing up front.
/// An amendment itemizes each dimension's old and new quantity and charges the added units,
/// prorated; its new agreement value includes what the agreement charged before.
fn charge_summary(request: &AgreementRequest) -> Value {
    let Some(quote) = &request.contract else {
        return json!({"currencyCode": "USD", "newAgreementValue": "0.00", "expectedCharges": [], "itemizedCharges": []});
    };
    let before = request.amends.as_ref();
    let itemized: Vec<Value> = quote
        .per_dimension
        .iter()
        .map(|(dimension, amount)| {
            let quantity = quote.choice.quantities.get(dimension).copied().unwrap_or(0);
            let old = before
                .and_then(|a| a.contract.quantities.get(dimension).copied())
                .unwrap_or(0);
            json!({"dimensionKey": dimension, "newQuantity": quantity, "oldQuantity": old,
                   "incrementalChargeAmount": amount})
        })
        .collect();
    let value = match before {
        Some(a) => sum([a.value.as_str(), quote.total.as_str()]),
        None => quote.total.clone(),
    };
    // After a free trial the contract is charged when the trial ends (from acceptance).
    let expected = match request.trial_days {
        Some(days) => json!({"amount": quote.total, "timing": "SCHEDULED",
            "time": epoch_seconds(request.created_at.plus_seconds(i64::from(days) * 86_400))}),
        None => json!({"amount": quote.total, "timing": "ON_ACCEPTANCE"}),
    };
    json!({
        "currencyCode": "USD",
        "newAgreementValue": value,
        "expectedCharges": [expected],
        "itemizedCharges": itemized,
    })
}

/// `CreateAgreementRequest`'s answer.
fn created(request: &AgreementRequest) -> Value {
    json!({
        "agreementRequestId": request.id,
        "agreementType": "PurchaseAgreement",
        "chargeSummary": charge_summary(request),
        "status": request.status.name(),
        "approvalRequirement": approval_requirement(request),
        "createdAt": epoch_seconds(request.created_at),
    })
}

fn approval_requirement(request: &AgreementRequest) -> &'static str {
    match request.approval_required {
        true => "REQUIRED",
        false => "NOT_REQUIRED",
    }
}

/// The offer a new-agreement request names by its proposal, on a concurrent-agreements product.
fn proposed_offer<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &S,
) -> Result<(Product, Offer), ModelError> {
    let proposal = text(input, "agreementProposalIdentifier");
    if proposal.is_empty() {
        return Err(invalid(
            "MISSING_AGREEMENT_PROPOSAL_IDENTIFIER",
            "A new agreement names the offer's agreementProposalId (Discovery's GetOffer gives it)"
                .into(),
            "agreementProposalIdentifier",
        ));
    }
    let (product, offer) = product_offering(store, SERVICE, call, |o| o.agreement_proposal_id == proposal)?
        .ok_or_else(|| {
            ModelError::not_found(SERVICE, "AgreementProposal", proposal, format!("Agreement proposal {proposal} was not found: Discovery's GetOffer names the proposal of each offer the caller may see"))
        })?;
    expired(&offer, call)?;
    if product.integration != Integration::ConcurrentAgreements {
        return Err(invalid("INVALID_AGREEMENT_PROPOSAL_IDENTIFIER", format!("Product {} uses the legacy integration: only a concurrent-agreements product (\"integration\": \"concurrent-agreements\") is bought through the Agreement Service here", product.product_code), "agreementProposalIdentifier"));
    }
    Ok((product, offer))
}

/// A free-trial offer is for accounts that never had it (AWS: one trial per account and
/// product): refused when one of `account`'s agreements of `product`, now or before, was on it.
fn one_trial(product: &Product, offer: &Offer, account: Option<&str>) -> Result<(), ModelError> {
    let Some(account) = account.filter(|_| offer.trial.is_some()) else {
        return Ok(());
    };
    let on_trial = |id: Option<&str>| id == Some(offer.offer_id.as_str());
    let had = product.customers.iter().any(|c| {
        c.customer_aws_account_id.as_deref() == Some(account)
            && (c.trial_ends_at.is_some()
                || c.free_trial
                || on_trial(c.offer_identifier.as_deref())
                || c.previous_agreements
                    .iter()
                    .any(|p| on_trial(p.offer_identifier.as_deref())))
    });
    if !had {
        return Ok(());
    }
    Err(invalid(
        "INVALID_AGREEMENT_PROPOSAL_IDENTIFIER",
        format!(
            "Account {account} already had the free trial of product {}: one free trial per account",
            product.product_code
        ),
        "agreementProposalIdentifier",
    ))
}

/// `EXPIRED_AGREEMENT_PROPOSAL` for a private offer past its `expiresAt`.
fn expired(offer: &Offer, call: &Call<'_>) -> Result<(), ModelError> {
    if !offer.has_expired(call.now) {
        return Ok(());
    }
    Err(invalid(
        "EXPIRED_AGREEMENT_PROPOSAL",
        format!(
            "Offer {} expired: a private offer can be accepted until its expiresAt",
            offer.offer_id
        ),
        "agreementProposalIdentifier",
    ))
}

/// `CreateAgreementRequest`
pub fn create<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
    ids: &mut dyn IdSource,
) -> Answer {
    let requester = requester(call);
    let client_token = input
        .get("clientToken")
        .and_then(Value::as_str)
        .map(str::to_string);
    let fingerprint = fingerprint(input);
    let mut requests = load(store)?;
    if let Some(earlier) = client_token
        .as_deref()
        .and_then(|t| requests.by_client_token(&requester, t))
    {
        // A retry gets the same answer, whatever the offer became since; the same token
        // with other parameters is a conflict. (Requests kept before fingerprints were:
        // the same answer.)
        if earlier
            .fingerprint
            .as_ref()
            .is_none_or(|f| *f == fingerprint)
        {
            return Ok(created(earlier));
        }
        return Err(ModelError::modeled(
            SERVICE,
            "ConflictException",
            format!(
                "clientToken {} was used for agreement request {} with other parameters",
                earlier.client_token.as_deref().unwrap_or_default(),
                earlier.id
            ),
        )
        .with("resourceId", earlier.id.as_str())
        .with("resourceType", "AgreementRequest"));
    }
    let intent = text(input, "intent");
    let source = source_agreement(input, call, store)?;
    let (product, offer) = match &source {
        Some((product, i)) if intent == "AMEND" => amended_offer(input, product, *i)?,
        _ => proposed_offer(input, call, store)?,
    };
    if let Some((source_product, _)) = source.as_ref().filter(|_| intent == "REPLACE") {
        if source_product.product_code != product.product_code {
            return Err(invalid(
                "INVALID_AGREEMENT_PROPOSAL_IDENTIFIER",
                format!(
                    "A replacement is an offer of the source agreement's product {}, not of {}",
                    source_product.product_code, product.product_code
                ),
                "agreementProposalIdentifier",
            ));
        }
    }
    // One free trial per account: the account a NEW agreement goes to, or the replaced one's.
    let account = match &source {
        Some((p, i)) => p.customers[*i].customer_aws_account_id.as_deref(),
        None => call.caller.account.as_deref(),
    };
    if intent != "AMEND" {
        one_trial(&product, &offer, account)?;
    }
    let Requested {
        term_ids,
        choice,
        auto_renew,
        variable_payment,
    } = requested_terms(input, &offer)?;
    let (contract, amends) = match &source {
        Some((product, i)) if intent == "AMEND" => {
            let (quote, amends) =
                amendment(&product.customers[*i], &offer, choice, auto_renew, call.now)?;
            (Some(quote), Some(amends))
        }
        _ => match (&choice, &offer.contract) {
            (Some(choice), Some(pricing)) => (Some(pricing.quote(choice)), None),
            _ => (None, None),
        },
    };
    let acceptor_contact = input
        .get("acceptorContact")
        .and_then(Value::as_object)
        .map(contact);
    // A request of a buyer whose organization requires approval waits for it.
    let approval_required = call
        .settings
        .approval_plans
        .iter()
        .any(|p| p.applies_to(&requester));
    let request = AgreementRequest {
        id: new_id("ar-", ids, 25)?,
        status: match approval_required {
            true => RequestStatus::Draft,
            false => RequestStatus::Approved,
        },
        approval_required,
        intent: intent.to_string(),
        product_code: product.product_code.to_string(),
        offer_id: offer.offer_id.clone(),
        term_ids,
        requester,
        client_token,
        created_at: call.now,
        agreement_id: None,
        acceptor_contact,
        contract,
        fingerprint: Some(fingerprint),
        auto_renew,
        source_agreement_id: source
            .as_ref()
            .and_then(|(p, i)| rules::agreement_id(&p.customers[*i])),
        amends,
        // An amendment of a trial's contract (after the trial) is charged on acceptance.
        trial_days: offer
            .trial
            .as_ref()
            .filter(|_| intent != "AMEND")
            .and_then(|t| t.days()),
        variable_payment,
    };
    let answer = created(&request);
    requests.add(request);
    save(store, &requests)?;
    Ok(answer)
}

/// The buyer's contact, as the model already held it (every member required, within its
/// limits; members the model does not know are left out).
fn contact(input: &Map<String, Value>) -> AcceptorContact {
    AcceptorContact {
        first_name: text(input, "firstName").to_string(),
        last_name: text(input, "lastName").to_string(),
        email_address: text(input, "emailAddress").to_string(),
        company_name: text(input, "companyName").to_string(),
        country_code: text(input, "countryCode").to_string(),
    }
}

/// What the buyer asked for: the offer's terms and its choices among them.
struct Requested {
    /// The requested term ids in the offer's order.
    term_ids: Vec<String>,
    /// The contract term's configuration: a duration the offer prices and quantities.
    choice: Option<ContractChoice>,
    /// Whether it opts in to the renewal term.
    auto_renew: bool,
    /// How it approves payment requests (a variable payment term's configuration).
    variable_payment: Option<VariablePaymentChoice>,
}

/// The requested terms, each a term of the offer and every term of the offer requested,
/// with the buyer's configuration of a contract, renewal or variable payment term. Other
/// terms take none.
fn requested_terms(input: &Map<String, Value>, offer: &Offer) -> Result<Requested, ModelError> {
    let requested: Vec<&Value> = input
        .get("requestedTerms")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let (mut choice, mut auto_renew, mut variable_payment) = (None, false, None);
    for term in &requested {
        let id = term.get("id").and_then(Value::as_str).unwrap_or_default();
        let Some(offered) = offer.term(id) else {
            return Err(invalid(
                "INVALID_REQUESTED_TERM_ID",
                format!(
                    "Term {id} is not a term of offer {}: GetOfferTerms lists them",
                    offer.offer_id
                ),
                "requestedTerms",
            ));
        };
        let configuration = term.get("configuration").filter(|c| !c.is_null());
        if let Term::Renewal { .. } = offered {
            auto_renew = renewal_choice(id, configuration)?;
            continue;
        }
        if let Term::VariablePayment { .. } = offered {
            variable_payment = Some(payment_choice(id, configuration)?);
            continue;
        }
        match (offered.is_configurable(), configuration) {
            (false, None) => {}
            (false, Some(_)) => {
                return Err(invalid(
                    "INVALID_REQUESTED_TERM_CONFIGURATION",
                    format!("Term {id} takes no configuration"),
                    "requestedTerms",
                ))
            }
            (true, None) => {
                return Err(invalid(
                    "MISSING_REQUESTED_TERM_CONFIGURATION",
                    format!("Term {id} is a contract: configure it with configurableUpfrontPricingTermConfiguration (selectorValue: a duration of its rate cards, dimensions: the quantities)"),
                    "requestedTerms",
                ))
            }
            (true, Some(configuration)) => {
                choice = Some(contract_choice(id, configuration, offer)?);
            }
        }
    }
    let named = |id: &str| {
        requested
            .iter()
            .any(|t| t.get("id").and_then(Value::as_str) == Some(id))
    };
    if let Some(missing) = offer.terms.iter().find(|t| !named(t.id())) {
        return Err(invalid(
            "MISSING_MANDATORY_TERMS",
            format!(
                "Term {} of offer {} must be requested: request every term GetOfferTerms lists",
                missing.id(),
                offer.offer_id
            ),
            "requestedTerms",
        ));
    }
    Ok(Requested {
        term_ids: offer.terms.iter().map(|t| t.id().to_string()).collect(),
        choice,
        auto_renew,
        variable_payment,
    })
}

/// How the buyer approves payment requests under a variable payment term: its
/// `variablePaymentTermConfiguration`, else each request itself.
fn payment_choice(
    term: &str,
    configuration: Option<&Value>,
) -> Result<VariablePaymentChoice, ModelError> {
    let Some(configuration) = configuration else {
        return Ok(VariablePaymentChoice::default());
    };
    let Some(variable) = configuration.get("variablePaymentTermConfiguration") else {
        return Err(invalid(
            "INVALID_REQUESTED_TERM_CONFIGURATION",
            format!("Term {term} is a variable payment term: configure it with variablePaymentTermConfiguration (paymentRequestApprovalStrategy, expirationDuration)"),
            "requestedTerms",
        ));
    };
    VariablePaymentChoice::from_configuration(variable).map_err(|reason| {
        invalid(
            "INVALID_REQUESTED_TERM_CONFIGURATION",
            format!("Term {term}: {reason}"),
            "requestedTerms",
        )
    })
}

/// Whether the buyer opts in to a renewal term: its `renewalTermConfiguration`, else not.
fn renewal_choice(term: &str, configuration: Option<&Value>) -> Result<bool, ModelError> {
    let Some(configuration) = configuration else {
        return Ok(false);
    };
    match configuration.get("renewalTermConfiguration") {
        Some(renewal) => Ok(renewal["enableAutoRenew"].as_bool().unwrap_or(false)),
        None => Err(invalid(
            "INVALID_REQUESTED_TERM_CONFIGURATION",
            format!("Term {term} is a renewal term: configure it with renewalTermConfiguration (enableAutoRenew)"),
            "requestedTerms",
        )),
    }
}

/// The agreement an `AMEND` or `REPLACE` request acts on (`sourceAgreementIdentifier`,
/// which only they take): one the caller accepted, still active.
fn source_agreement<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &S,
) -> Result<Option<(Product, usize)>, ModelError> {
    let (intent, id) = (
        text(input, "intent"),
        text(input, "sourceAgreementIdentifier"),
    );
    match (intent, id.is_empty()) {
        ("NEW", true) => return Ok(None),
        ("NEW", false) => {
            return Err(invalid(
                "INVALID_SOURCE_AGREEMENT_IDENTIFIER",
                "A NEW request takes no sourceAgreementIdentifier: AMEND and REPLACE name the agreement they act on".into(),
                "sourceAgreementIdentifier",
            ))
        }
        (_, true) => {
            return Err(invalid(
                "MISSING_SOURCE_AGREEMENT_IDENTIFIER",
                format!("An {intent} request names the agreement it acts on in sourceAgreementIdentifier"),
                "sourceAgreementIdentifier",
            ))
        }
        _ => {}
    }
    if intent == "AMEND" && input.contains_key("acceptorContact") {
        return Err(invalid(
            "INVALID_ACCEPTOR_CONTACT",
            "An AMEND request takes no acceptorContact: the agreement keeps its contact".into(),
            "acceptorContact",
        ));
    }
    let account = call.caller.account.as_deref();
    let (product, i) = agreement(store, id)?
        .filter(|(p, i)| rules::is_acceptor(&p.customers[*i], account))
        .ok_or_else(|| {
            ModelError::not_found(
                SERVICE,
                "Agreement",
                id,
                format!("Agreement {id} was not found among the caller's agreements: only its acceptor amends or replaces it"),
            )
        })?;
    let customer = &product.customers[i];
    if !rules::is_active(customer, call.now) {
        return Err(invalid(
            "INACTIVE_AGREEMENT",
            format!(
                "Agreement {id} is {}: only an active agreement is amended or replaced",
                rules::status(customer, call.now)
            ),
            "sourceAgreementIdentifier",
        ));
    }
    Ok(Some((product, i)))
}

/// The offer an amendment is made on: the source agreement's own (its proposal, when named,
/// must be that offer's).
fn amended_offer(
    input: &Map<String, Value>,
    product: &Product,
    i: usize,
) -> Result<(Product, Offer), ModelError> {
    let offer = Offer::of(product, &product.customers[i]);
    let proposal = text(input, "agreementProposalIdentifier");
    if !proposal.is_empty() && proposal != offer.agreement_proposal_id {
        return Err(invalid(
            "INVALID_AGREEMENT_PROPOSAL_IDENTIFIER",
            format!("An amendment is made on the agreement's own offer {} (proposal {}): REPLACE the agreement to move to another offer", offer.offer_id, offer.agreement_proposal_id),
            "agreementProposalIdentifier",
        ));
    }
    Ok((product.clone(), offer))
}

/// The quote of amending `customer`'s contract to `choice` (and its renewal choice): the
/// same duration, no quantity lowered, something changed; the added units prorated by the
/// time left. With what the agreement was, to tell at acceptance that it has not changed.
fn amendment(
    customer: &Customer,
    offer: &Offer,
    choice: Option<ContractChoice>,
    auto_renew: bool,
    now: Instant,
) -> Result<(Quote, Amends), ModelError> {
    let wrong = |message: String| {
        invalid(
            "INVALID_REQUESTED_TERM_CONFIGURATION",
            message,
            "requestedTerms",
        )
    };
    let (Some(current), Some(end), Some(pricing), Some(choice)) = (
        &customer.contract,
        customer.ends_at,
        &offer.contract,
        choice,
    ) else {
        return Err(invalid(
            "INVALID_INTENT",
            "Only a contract is amended (AWS Marketplace amends SaaS contracts): replace a pay-as-you-go agreement with REPLACE".into(),
            "intent",
        ));
    };
    let current = &current.bought();
    if customer.trial_charge.is_some() {
        return Err(invalid(
            "INVALID_INTENT",
            "The contract starts when the agreement's free trial ends: amend it after that (or REPLACE the agreement)".into(),
            "intent",
        ));
    }
    if choice.duration != current.duration {
        return Err(wrong(format!(
            "An amendment keeps the contract's duration {}: REPLACE the agreement to change it",
            current.duration
        )));
    }
    let lowered = current
        .quantities
        .iter()
        .find(|(d, &q)| choice.quantities.get(*d).copied().unwrap_or(0) < q);
    if let Some((dimension, quantity)) = lowered {
        return Err(wrong(format!(
            "An amendment does not lower a quantity: {dimension} is {quantity}"
        )));
    }
    if choice == *current && auto_renew == customer.auto_renew {
        return Err(wrong("The amendment changes nothing: raise a quantity, add a dimension or change enableAutoRenew".into()));
    }
    // A contract taken with a free trial began when the trial ended.
    let start = customer
        .trial_ends_at
        .or(rules::accepted_at(customer))
        .unwrap_or(now);
    let quote = pricing.amendment_quote(
        current,
        &choice,
        end.millis().saturating_sub(now.millis()),
        end.millis().saturating_sub(start.millis()),
    );
    let amends = Amends {
        contract: current.clone(),
        auto_renew: customer.auto_renew,
        value: crate::domain::contract::total(&customer.charges),
    };
    Ok((quote, amends))
}

/// The buyer's choice in a contract term's configuration, held to the offer's pricing.
fn contract_choice(
    term: &str,
    configuration: &Value,
    offer: &Offer,
) -> Result<ContractChoice, ModelError> {
    let wrong = |message: String| {
        invalid(
            "INVALID_REQUESTED_TERM_CONFIGURATION",
            format!("Term {term}: {message}"),
            "requestedTerms",
        )
    };
    let Some(upfront) = configuration.get("configurableUpfrontPricingTermConfiguration") else {
        return Err(wrong(
            "a contract term is configured with configurableUpfrontPricingTermConfiguration".into(),
        ));
    };
    let mut quantities = BTreeMap::new();
    for d in upfront["dimensions"].as_array().into_iter().flatten() {
        let key = d["dimensionKey"].as_str().unwrap_or_default().to_string();
        // The model holds dimensionValue to 0..=2147483647.
        let value = d["dimensionValue"].as_u64().unwrap_or_default() as u32;
        if quantities.insert(key.clone(), value).is_some() {
            return Err(wrong(format!("dimensionKey {key} is given twice")));
        }
    }
    let choice = ContractChoice {
        duration: upfront["selectorValue"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        quantities,
    };
    let pricing = offer
        .contract
        .as_ref()
        .ok_or_else(|| wrong("the offer has no contract pricing".into()))?;
    pricing.admits(&choice).map_err(wrong)?;
    // A dimension at 0 units is not bought: an amendment that only adds one changes nothing.
    Ok(choice.bought())
}

fn proposal_summary(offer: &Offer) -> Value {
    json!({"resources": [{"id": offer.product_id, "type": "SaaSProduct"}], "offerId": offer.offer_id})
}

/// `ListAgreementRequests`: the caller's requests (every request for the wildcard caller),
/// newest first, by status and product (its id or code).
pub fn list<S: Store + ?Sized>(input: &Map<String, Value>, call: &Call<'_>, store: &S) -> Answer {
    check_catalog(input)?;
    let (status, resource) = (text(input, "status"), text(input, "resourceId"));
    let mine = requester(call);
    // Each product is read once, however many requests name it.
    // Each product's offers are made once, however many requests name them.
    let mut offers: HashMap<String, Vec<Offer>> = HashMap::new();
    let mut items = Vec::new();
    for request in load(store)?.0.iter().rev() {
        let visible = call.caller.account.is_none() || request.requester == mine;
        if !visible || (!status.is_empty() && request.status.name() != status) {
            continue;
        }
        if !offers.contains_key(&request.product_code) {
            let all = product_of(store, request)?.map_or_else(Vec::new, |p| Offer::all(&p));
            offers.insert(request.product_code.clone(), all);
        }
        let offer = offers
            .get(&request.product_code)
            .and_then(|all| all.iter().find(|o| o.offer_id == request.offer_id));
        let product_id = offer.map(|o| o.product_id.as_str());
        if !resource.is_empty() && resource != request.product_code && Some(resource) != product_id
        {
            continue;
        }
        let mut item = json!({
            "agreementRequestId": request.id,
            "agreementType": "PurchaseAgreement",
            "status": request.status.name(),
        });
        if let Some(id) = &request.agreement_id {
            item["agreementId"] = json!(id);
        }
        if let Some(offer) = offer {
            item["proposalSummary"] = proposal_summary(offer);
        }
        items.push(item);
    }
    let listing = format!("ListAgreementRequests\n{mine}\n{status}\n{resource}");
    // The model's default page: 20 requests.
    let (items, next) = page(SERVICE, items, input, call, &listing, 20)?;
    Ok(with_next(json!({ "items": items }), next))
}

/// Whether a requester is a 12-digit account (else the wildcard caller's key id).
fn is_account(requester: &str) -> bool {
    requester.len() == 12 && requester.bytes().all(|b| b.is_ascii_digit())
}

/// `GetAgreementRequestTerms`: the terms the request asked for, as its offer states them.
pub fn terms<S: Store + ?Sized>(input: &Map<String, Value>, call: &Call<'_>, store: &S) -> Answer {
    let requests = load(store)?;
    let request = visible(&requests, call, text(input, "agreementRequestId"))?;
    let terms: Vec<Value> = match product_of(store, request)?.and_then(|p| offer_of(&p, request)) {
        Some(offer) => offer
            .terms
            .iter()
            .filter(|t| request.term_ids.iter().any(|id| id == t.id()))
            .map(|t| {
                t.accepted_with(
                    request.contract.as_ref().map(|q| &q.choice),
                    request.auto_renew,
                    request.variable_payment.as_ref(),
                )
            })
            .collect(),
        None => Vec::new(),
    };
    let listing = format!("GetAgreementRequestTerms\n{}", request.id);
    let (terms, next) = page(SERVICE, terms, input, call, &listing, 10)?;
    Ok(with_next(json!({ "terms": terms }), next))
}

/// `GetAgreementRequest`
pub fn get<S: Store + ?Sized>(input: &Map<String, Value>, call: &Call<'_>, store: &S) -> Answer {
    let requests = load(store)?;
    let request = visible(&requests, call, text(input, "agreementRequestId"))?;
    let mut out = json!({
        "agreementRequestId": request.id,
        "agreementType": "PurchaseAgreement",
        "status": request.status.name(),
        "approvalRequirement": approval_requirement(request),
        "intent": request.intent,
        "createdAt": epoch_seconds(request.created_at),
        "chargeSummary": charge_summary(request),
    });
    if let Some(id) = &request.agreement_id {
        out["agreementId"] = json!(id);
    }
    if let Some(offer) = product_of(store, request)?.and_then(|p| offer_of(&p, request)) {
        out["proposer"] = json!({"accountId": offer.proposer});
        out["proposalSummary"] = proposal_summary(&offer);
    }
    Ok(out)
}

fn conflict(id: &str, message: String) -> ModelError {
    ModelError::modeled(SERVICE, "ConflictException", message)
        .with("resourceId", id)
        .with("resourceType", "AgreementRequest")
}

fn not_approved(request: &AgreementRequest, doing: &str) -> ModelError {
    conflict(
        &request.id,
        format!(
            "Agreement request {} is {}: only an APPROVED request can be {doing}",
            request.id,
            request.status.name()
        ),
    )
}

/// `CancelAgreementRequest`
pub fn cancel<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
) -> Answer {
    let mut requests = load(store)?;
    let id = visible(&requests, call, text(input, "agreementRequestId"))?
        .id
        .clone();
    let request = requests
        .get_mut(&id)
        .ok_or_else(|| internal("a visible request exists"))?;
    if !request.status.is_open() {
        return Err(conflict(
            &request.id,
            format!(
                "Agreement request {} is {}: only a DRAFT, PENDING_APPROVAL or APPROVED request can be cancelled",
                request.id,
                request.status.name()
            ),
        ));
    }
    request.status = RequestStatus::Cancelled;
    save(store, &requests)?;
    super::approvals::close_for_request(store, &id, ApprovalStatus::Cancelled, call.now)?;
    Ok(json!({}))
}

/// `AcceptAgreementRequest`: the agreement, a new customer of the offer's product.
pub fn accept<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
    ids: &mut dyn IdSource,
) -> Answer {
    let mut requests = load(store)?;
    let request = visible(&requests, call, text(input, "agreementRequestId"))?.clone();
    match request.status {
        RequestStatus::Approved => {}
        // A plan that applied when the request was made may have been taken off since.
        RequestStatus::Draft
            if !call
                .settings
                .approval_plans
                .iter()
                .any(|p| p.applies_to(&request.requester)) => {}
        RequestStatus::Draft | RequestStatus::PendingApproval => {
            let message = format!("Agreement request {} is {}: the buyer's organization requires approval (StartAgreementApprovals), and its approvals must all be approved first", request.id, request.status.name());
            return Err(invalid(
                "PENDING_APPROVAL_AGREEMENT_REQUEST",
                message,
                "agreementRequestId",
            ));
        }
        RequestStatus::Rejected => {
            let message = format!(
                "Agreement request {} was rejected by an approver of the buyer's organization",
                request.id
            );
            return Err(invalid(
                "REJECTED_BY_AGREEMENT_APPROVAL_POLICY",
                message,
                "agreementRequestId",
            ));
        }
        RequestStatus::Accepted | RequestStatus::Cancelled => {
            return Err(not_approved(&request, "accepted"))
        }
    }
    let mut product = product_of(store, &request)?.ok_or_else(|| {
        ModelError::not_found(
            SERVICE,
            "AgreementProposal",
            &request.offer_id,
            format!(
                "The offer of request {} is gone: its product {} was deleted",
                request.id, request.product_code
            ),
        )
    })?;
    if product.integration != Integration::ConcurrentAgreements {
        return Err(conflict(&request.id, format!("Product {} no longer uses concurrent agreements, so request {} cannot make an agreement", product.product_code, request.id)));
    }
    let offer = offer_of(&product, &request).ok_or_else(|| {
        ModelError::not_found(
            SERVICE,
            "AgreementProposal",
            &request.offer_id,
            format!(
                "Offer {} of request {} is gone: product {} no longer has it",
                request.offer_id, request.id, request.product_code
            ),
        )
    })?;
    // A buyer a private offer no longer names cannot accept what it asked for before (an
    // amendment stays on the agreement's own offer, whatever became of it).
    let amend = request.intent == "AMEND";
    let account = Some(request.requester.as_str()).filter(|r| is_account(r));
    if !amend && account.is_some() && !offer.is_visible_to(account) {
        return Err(ModelError::not_found(
            SERVICE,
            "AgreementProposal",
            &request.offer_id,
            format!(
                "Offer {} of request {} is no longer extended to its requester",
                request.offer_id, request.id
            ),
        ));
    }
    if !amend {
        expired(&offer, call)?;
        let source = request.source_agreement_id.as_deref();
        let account = match source.and_then(|s| active_agreement(&product, s, call)) {
            Some(i) => product.customers[i].customer_aws_account_id.as_deref(),
            None => account,
        };
        one_trial(&product, &offer, account)?;
    }
    let terms_now: Vec<&str> = offer.terms.iter().map(|t| t.id()).collect();
    if terms_now != request.term_ids {
        return Err(conflict(
            &request.id,
            format!(
                "Offer {} changed its terms since request {} was made: make a new request",
                offer.offer_id, request.id
            ),
        ));
    }
    let (index, change) = match request.source_agreement_id.as_deref() {
        Some(source) => {
            let i = active_agreement(&product, source, call).ok_or_else(|| {
                conflict(
                    &request.id,
                    format!(
                        "Agreement {source} is no longer active, so request {} cannot act on it",
                        request.id
                    ),
                )
            })?;
            let mut customer = product.customers[i].clone();
            // Pending payment requests hold their place among the agreement's charges.
            let held = super::payments::pending_count(store, source)?;
            let change = match amend {
                true => amend_agreement(&mut customer, &request, held, call, ids)?,
                false => replace_agreement(&mut customer, &product, &offer, &request, call, ids)?,
            };
            product.customers[i] = customer;
            (i, change)
        }
        None => {
            if product.customers.len() >= call.customers_per_product {
                return Err(ModelError::modeled(
                    SERVICE,
                    "ServiceQuotaExceededException",
                    format!("Product {} has {} customers, the most this deployment keeps (MAX_CUSTOMERS_PER_PRODUCT)", product.product_code, product.customers.len()),
                ));
            }
            let customer = new_agreement(&product, &offer, &request, call, ids)?;
            product.customers.push(customer);
            (
                product.customers.len() - 1,
                Change::Lifecycle(LifecycleAction::SubscribeSuccess),
            )
        }
    };
    let agreement_id = rules::agreement_id(&product.customers[index]).unwrap_or_default();
    super::milestones::note(store, &product, index)
        .map_err(|e| ModelError::of_service(SERVICE, &e))?;
    store.put_product(&product).map_err(storage(SERVICE))?;
    notify(store, change, &product, index, When::of(call), ids)
        .map_err(|e| ModelError::of_service(SERVICE, &e))?;
    if let Some(r) = requests.get_mut(&request.id) {
        r.status = RequestStatus::Accepted;
        r.agreement_id = Some(agreement_id.clone());
    }
    save(store, &requests)?;
    Ok(json!({ "agreementId": agreement_id }))
}

/// The customer an accepted request makes: the requester's account (a new random one when
/// the wildcard caller asked), a license of the product's seller, a new agreement id.
fn new_agreement(
    product: &Product,
    offer: &Offer,
    request: &AgreementRequest,
    call: &Call<'_>,
    ids: &mut dyn IdSource,
) -> Result<Customer, ModelError> {
    let account = if is_account(&request.requester) {
        request.requester.clone()
    } else {
        new_id("", ids, 12)?
            .bytes()
            .map(|b| char::from(b'0' + (b % 10)))
            .collect()
    };
    let license = new_id(
        &format!(
            "arn:aws:license-manager::{}:license:l-",
            proposer_of(product)
        ),
        ids,
        32,
    )?;
    let agreement = new_id("agmt-", ids, 25)?;
    // A contract's quantities are the agreement's entitlements until it ends, and its
    // price is charged on acceptance.
    let (mut contract, mut ends_at, mut entitlements, mut charges) = (None, None, vec![], vec![]);
    // A free trial's limited grants are entitlements until it ends.
    let trial_end = offer.trial.as_ref().map(|t| t.end(call.now));
    if let (Some(trial), Some(end)) = (&offer.trial, trial_end) {
        entitlements = trial.entitlements(end);
    }
    let mut trial_charge = None;
    if let Some(quote) = &request.contract {
        match trial_end {
            // After a free trial the contract starts, and is charged, when the trial ends;
            // until then the trial's grants are the entitlements.
            Some(start) => {
                trial_charge = Some(quote.total.clone());
                ends_at = Some(quote.choice.end(start));
            }
            None => {
                let end = quote.choice.end(call.now);
                entitlements = quote.choice.entitlements(end);
                charges.push(Charge {
                    id: new_id("ch-", ids, 25)?,
                    revision: 1,
                    amount: quote.total.clone(),
                    at: call.now,
                    purchase_order_reference: None,
                    payment_request_id: None,
                });
                ends_at = Some(end);
            }
        }
        contract = Some(quote.choice.clone());
    }
    Ok(Customer {
        customer_aws_account_id: Some(account.parse().map_err(internal)?),
        license_arn: Some(license.parse().map_err(internal)?),
        agreement_id: Some(agreement.parse().map_err(internal)?),
        subscription: SubscriptionState::Subscribed,
        subscription_changed_at: Some(call.now),
        accepted_at: Some(call.now),
        acceptor_contact: request.acceptor_contact.clone(),
        // A private or free-trial offer is named, as the sign-up's offerIdentifier names it.
        offer_identifier: (offer.private.is_some() || offer.trial.is_some())
            .then(|| offer.offer_id.clone()),
        free_trial: offer.trial.is_some(),
        trial_ends_at: trial_end,
        trial_charge,
        contract,
        ends_at,
        entitlements,
        charges,
        auto_renew: request.auto_renew,
        variable_payment: request.variable_payment.clone(),
        ..Default::default()
    })
}

/// The live agreement `id` of `product`, if it is still active.
fn active_agreement(product: &Product, id: &str, call: &Call<'_>) -> Option<usize> {
    (0..product.customers.len()).find(|&i| {
        let customer = &product.customers[i];
        rules::agreement_id(customer).as_deref() == Some(id) && rules::is_active(customer, call.now)
    })
}

/// Applies an accepted amendment to its agreement: the new quantities (its entitlements,
/// until the same end), the renewal choice, and the prorated charge of the added units.
/// The agreement must be as it was when the amendment was asked.
fn amend_agreement(
    customer: &mut Customer,
    request: &AgreementRequest,
    held: usize,
    call: &Call<'_>,
    ids: &mut dyn IdSource,
) -> Result<Change, ModelError> {
    let (Some(amends), Some(quote)) = (&request.amends, &request.contract) else {
        return Err(internal("an amendment request has its quote"));
    };
    let bought = customer.contract.as_ref().map(ContractChoice::bought);
    if bought.as_ref() != Some(&amends.contract) || customer.auto_renew != amends.auto_renew {
        return Err(conflict(
            &request.id,
            format!(
                "Agreement {} changed since request {} was made: make a new request",
                request.source_agreement_id.as_deref().unwrap_or_default(),
                request.id
            ),
        ));
    }
    let quantities_changed = quote.choice != amends.contract;
    if quote.total != "0.00" {
        // A charge still due at the trial's end counts.
        let due = customer.charges.len() + usize::from(customer.trial_charge.is_some()) + held;
        if due >= MAX_CHARGES {
            return Err(ModelError::modeled(
                SERVICE,
                "ServiceQuotaExceededException",
                format!("The agreement has {MAX_CHARGES} charges, the most the mock keeps for one agreement"),
            ));
        }
        customer.charges.push(Charge {
            id: new_id("ch-", ids, 25)?,
            revision: 1,
            amount: quote.total.clone(),
            at: call.now,
            purchase_order_reference: None,
            payment_request_id: None,
        });
    }
    let end = customer.ends_at.unwrap_or(call.now);
    customer.entitlements = quote.choice.entitlements(end);
    customer.contract = Some(quote.choice.clone());
    customer.auto_renew = request.auto_renew;
    Ok(Change::Amended {
        entitlements: quantities_changed,
    })
}

/// Replaces the customer's agreement by a new one on `offer` (its terms, charges and end,
/// from now): the license and account stay, the old agreement is kept as `REPLACED`.
fn replace_agreement(
    customer: &mut Customer,
    product: &Product,
    offer: &Offer,
    request: &AgreementRequest,
    call: &Call<'_>,
    ids: &mut dyn IdSource,
) -> Result<Change, ModelError> {
    let new = new_agreement(product, offer, request, call, ids)?;
    let id = new
        .agreement_id
        .clone()
        .ok_or_else(|| internal("a new agreement has an id"))?;
    customer.supersede(Supersession::Replaced, call.now, id);
    customer.offer_identifier = new.offer_identifier;
    customer.contract = new.contract;
    customer.ends_at = new.ends_at;
    customer.entitlements = new.entitlements;
    customer.charges = new.charges;
    customer.auto_renew = new.auto_renew;
    customer.variable_payment = new.variable_payment;
    customer.free_trial = new.free_trial;
    customer.trial_ends_at = new.trial_ends_at;
    customer.trial_charge = new.trial_charge;
    if new.acceptor_contact.is_some() {
        customer.acceptor_contact = new.acceptor_contact;
    }
    Ok(Change::Replaced)
}
