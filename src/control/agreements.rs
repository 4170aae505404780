//! `/_mock/offers`, `/_mock/agreements` and `/_mock/agreement-requests`: every product's
//! offers, the agreements of concurrent-agreements products as the Agreement Service names
//! them (ids, statuses), and the buyers' agreement requests, for tests and the dashboard to
//! read without playing a party of each.

use serde_json::{json, Value};

use super::{bad, internal, limit_param, ok, store_err, Answer};
use crate::domain::agreement::{self as rules, AgreementRequests};
use crate::domain::catalogue::{Integration, Product};
use crate::domain::offer::{proposer_of, Offer};
use crate::namespace::Namespace;
use crate::protocol::http::HttpRequest;
use crate::store::{documents, Store};

/// Agreements one answer lists at most.
const MAX_AGREEMENTS_LIMIT: usize = 10_000;

/// A product's offers as the control API shows them: the public one, its free-trial one,
/// then its private ones, each with the ids Discovery and the Agreement Service name it by,
/// its terms (`AcceptedTerm` unions), a free-trial offer's trial, and for a private one its
/// buyers and expiry.
pub fn offer_views(product: &Product) -> Vec<Value> {
    Offer::all(product)
        .iter()
        .map(|offer| {
            let terms: Vec<Value> = offer.terms.iter().map(|t| t.accepted()).collect();
            let mut view = json!({
                "productCode": product.product_code,
                "offerId": offer.offer_id,
                "agreementProposalId": offer.agreement_proposal_id,
                "productId": offer.product_id,
                "proposer": offer.proposer,
                "visibility": if offer.private.is_some() { "private" } else { "public" },
                "terms": terms,
            });
            if let Some(trial) = &offer.trial {
                view["freeTrial"] = json!(trial);
            }
            if let Some(private) = &offer.private {
                view["buyerAccounts"] = json!(private.buyers);
                if let Some(name) = &private.name {
                    view["name"] = json!(name);
                }
                if let Some(at) = private.expires_at {
                    view["expiresAt"] = json!(at.to_rfc3339());
                }
            }
            view
        })
        .collect()
}

/// `GET /_mock/offers`: every offer of every product.
pub fn offers<S: Store + ?Sized>(ns: &mut Namespace<'_, S>) -> Answer {
    let products = ns.store.products().map_err(store_err)?;
    let offers: Vec<Value> = products.iter().flat_map(|p| offer_views(p)).collect();
    ok(json!({ "offers": offers }))
}

/// `GET /_mock/agreements?productCode=&limit=`: the agreements, product by product.
pub fn agreements<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, req: &HttpRequest) -> Answer {
    let (mut product_code, mut limit) = (None, 1000usize);
    for (key, value) in req.query_pairs() {
        match key.as_str() {
            "productCode" | "product" => product_code = Some(value),
            "limit" => limit = limit_param(&value, MAX_AGREEMENTS_LIMIT)?,
            other => {
                return Err(bad(format!(
                    "unknown filter '{other}' (filters: productCode, limit)"
                )))
            }
        }
    }
    let now = ns.now().map_err(internal)?;
    let products = ns.store.products().map_err(store_err)?;
    let mut listed = Vec::new();
    let concurrent = products.iter().filter(|p| {
        p.integration == Integration::ConcurrentAgreements
            && product_code.as_ref().is_none_or(|c| **c == *p.product_code)
    });
    'products: for product in concurrent {
        let offer = Offer::public(product);
        for customer in product.customers.iter() {
            let Some(id) = rules::agreement_id(customer) else {
                continue;
            };
            if listed.len() >= limit {
                break 'products;
            }
            let (entitlement, reason) = rules::entitlement_status(customer, now);
            let mut view = json!({
                "agreementId": id,
                "productCode": product.product_code,
                "status": rules::status(customer, now),
                "acceptor": customer.customer_aws_account_id,
                "proposer": proposer_of(product),
                "offerId": offer.id_for(customer),
                "licenseArn": customer.license_arn,
                "entitlementStatus": entitlement,
                "entitlementStatusReason": reason,
                "subscription": customer.subscription,
            });
            if let Some(at) = rules::accepted_at(customer) {
                view["acceptedAt"] = json!(at.to_rfc3339());
            }
            if let Some(end) = customer.ends_at {
                view["endsAt"] = json!(end.to_rfc3339());
            }
            if let Some(contract) = &customer.contract {
                view["contract"] = json!(contract);
            }
            if let Some(contact) = &customer.acceptor_contact {
                view["acceptorContact"] = json!(contact);
            }
            if customer.contract.is_some() {
                view["autoRenew"] = json!(customer.auto_renew);
            }
            if let Some(end) = customer.trial_ends_at {
                view["trialEndsAt"] = json!(end.to_rfc3339());
            }
            // The license's earlier agreements, which its renewals and replacements ended.
            if !customer.previous_agreements.is_empty() {
                let previous: Vec<Value> = customer
                    .previous_agreements
                    .iter()
                    .map(|p| json!({"agreementId": p.agreement_id, "status": p.status.status(), "endedAt": p.ended_at.to_rfc3339()}))
                    .collect();
                view["previousAgreements"] = json!(previous);
            }
            listed.push(view);
        }
    }
    ok(json!({ "count": listed.len(), "agreements": listed }))
}

/// `GET /_mock/agreement-requests`: the namespace's agreement requests (the quotes buyers
/// asked for), newest first, as the Agreement Service names them, with what each charges
/// (on acceptance; a free trial's contract when the trial ends) and the agreement it made
/// or acts on.
pub fn requests<S: Store + ?Sized>(ns: &mut Namespace<'_, S>) -> Answer {
    let requests: AgreementRequests = documents::load(ns.store).map_err(internal)?;
    let listed: Vec<Value> = requests
        .0
        .iter()
        .rev()
        .map(|r| {
            let mut view = json!({
                "agreementRequestId": r.id,
                "status": r.status.name(),
                "intent": r.intent,
                "productCode": r.product_code,
                "offerId": r.offer_id,
                "requester": r.requester,
                "createdAt": r.created_at.to_rfc3339(),
                "charge": r.contract.as_ref().map_or("0.00", |q| q.total.as_str()),
            });
            if let Some(id) = &r.agreement_id {
                view["agreementId"] = json!(id);
            }
            if let Some(id) = &r.source_agreement_id {
                view["sourceAgreementId"] = json!(id);
            }
            view
        })
        .collect();
    ok(json!({ "count": listed.len(), "requests": listed }))
}
