//! `/_mock/agreement-activity`: what happened to agreements after they were made — the
//! sellers' cancellation and payment requests, billing adjustments, invoices and credit
//! memos, buyers' approvals, and the Deployment Service's parameters (names and sizes, never
//! a secret) and configuration jobs — for tests and the dashboard to read without playing a
//! party (`GET`), and the buyer's decisions on the seller's requests, played as the
//! agreement's acceptor (`POST …/buyer`), so a test or the dashboard needs no buyer
//! credentials.

use serde_json::{json, Map, Value};

use super::{bad, body_json, internal, ok, store_err, Answer};
use crate::domain::agreement as rules;
use crate::domain::approval::AgreementApprovals;
use crate::domain::cancellation::CancellationRequests;
use crate::domain::catalogue::Integration;
use crate::domain::deployment::{DeploymentConfigurations, DeploymentParameters, JobStatus};
use crate::domain::invoice::{BillingAdjustments, Invoice, Invoices};
use crate::domain::payment::PaymentRequests;
use crate::model::error::ModelError;
use crate::model::{validate, ModelService};
use crate::namespace::{load_settings, Namespace};
use crate::ops::{self, Call};
use crate::protocol::http::HttpRequest;
use crate::protocol::sigv4::Caller;
use crate::store::{documents, Store};

/// `GET /_mock/agreement-activity?agreementId=`: every kind of activity, newest first, of one
/// agreement or all.
pub fn activity<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, req: &HttpRequest) -> Answer {
    let mut wanted: Option<String> = None;
    for (key, value) in req.query_pairs() {
        match key.as_str() {
            "agreementId" | "agreement" => wanted = Some(value),
            other => {
                return Err(bad(format!(
                    "unknown filter '{other}' (filters: agreementId)"
                )))
            }
        }
    }
    let of = |id: &str| wanted.as_deref().is_none_or(|w| w == id);
    let store = &*ns.store;
    let cancellations: CancellationRequests = documents::load(store).map_err(internal)?;
    let payments: PaymentRequests = documents::load(store).map_err(internal)?;
    let adjustments: BillingAdjustments = documents::load(store).map_err(internal)?;
    let kept: Invoices = documents::load(store).map_err(internal)?;
    let approvals: AgreementApprovals = documents::load(store).map_err(internal)?;
    let cancellation_requests: Vec<Value> = cancellations
        .0
        .iter()
        .rev()
        .filter(|r| of(&r.agreement_id))
        .map(|r| {
            json!({
                "agreementCancellationRequestId": r.id, "agreementId": r.agreement_id,
                "status": r.status.name(), "reasonCode": r.reason_code, "description": r.description,
                "statusMessage": r.status_message, "createdAt": r.created_at.to_rfc3339(),
                "updatedAt": r.updated_at.to_rfc3339(),
                "autoApprovalAt": r.is_pending().then(|| r.auto_approval_at().to_rfc3339()),
            })
        })
        .collect();
    let payment_requests: Vec<Value> = payments
        .0
        .iter()
        .rev()
        .filter(|r| of(&r.agreement_id))
        .map(|r| {
            json!({
                "paymentRequestId": r.id, "agreementId": r.agreement_id, "status": r.status.name(),
                "name": r.name, "chargeAmount": r.charge_amount, "chargeId": r.charge_id,
                "statusMessage": r.status_message, "createdAt": r.created_at.to_rfc3339(),
                "updatedAt": r.updated_at.to_rfc3339(),
                "autoApprovalAt": r.auto_approve_at.filter(|_| r.is_pending()).map(|at| at.to_rfc3339()),
                "currencyCode": "USD", "description": r.description,
            })
        })
        .collect();
    let billing_adjustments: Vec<Value> = adjustments
        .0
        .iter()
        .rev()
        .filter(|a| of(&a.agreement_id))
        .map(|a| {
            json!({
                "billingAdjustmentRequestId": a.id, "agreementId": a.agreement_id,
                "originalInvoiceId": a.original_invoice_id, "adjustmentAmount": a.amount,
                "status": a.status.name(), "adjustmentReasonCode": a.reason_code,
                "statusMessage": a.status_message, "createdAt": a.created_at.to_rfc3339(),
            })
        })
        .collect();
    // The charges' invoices, derived from the agreements' charges, and the kept ones.
    let mut invoices: Vec<Invoice> = kept
        .all()
        .filter(|i| of(&i.agreement_id))
        .cloned()
        .collect();
    for product in store.products().map_err(store_err)? {
        if product.integration != Integration::ConcurrentAgreements {
            continue;
        }
        for customer in product.customers.iter() {
            let Some(current) = rules::agreement_id(customer) else {
                continue;
            };
            let agreements = customer
                .previous_agreements
                .iter()
                .map(|p| (p.agreement_id.to_string(), &p.charges))
                .chain(std::iter::once((current, &customer.charges)));
            for (id, charges) in agreements.filter(|(id, _)| of(id)) {
                invoices.extend(charges.iter().map(|c| Invoice::of_charge(&id, c)));
            }
        }
    }
    invoices.sort_by(|a, b| (b.issued_at, &b.id).cmp(&(a.issued_at, &a.id)));
    let invoices: Vec<Value> = invoices
        .iter()
        .map(|i| {
            json!({
                "invoiceId": i.id, "agreementId": i.agreement_id, "invoiceType": i.kind.name(),
                "billingPeriod": i.period, "amount": i.amount, "issuedAt": i.issued_at.to_rfc3339(),
                "originalInvoiceId": i.original_invoice_id,
            })
        })
        .collect();
    let requests: crate::domain::agreement::AgreementRequests =
        documents::load(store).map_err(internal)?;
    let buyer_approvals: Vec<Value> = approvals
        .0
        .iter()
        .rev()
        .filter(|a| {
            wanted.is_none()
                || requests
                    .get(&a.agreement_request_id)
                    .and_then(|r| r.agreement_id.as_deref())
                    .is_some_and(&of)
        })
        .map(|a| {
            json!({
                "agreementApprovalId": a.id, "agreementRequestId": a.agreement_request_id,
                "name": a.name, "status": a.status.name(), "createdAt": a.created_at.to_rfc3339(),
                "expiresAt": a.expires_at.to_rfc3339(),
            })
        })
        .collect();
    let now = ns.now().map_err(internal)?;
    let store = &*ns.store;
    let parameters: DeploymentParameters = documents::load(store).map_err(internal)?;
    let deployment_parameters: Vec<Value> = parameters
        .0
        .iter()
        .rev()
        .filter(|p| of(&p.agreement_id) && !p.expired(now))
        .map(|p| {
            json!({
                "deploymentParameterId": p.id, "agreementId": p.agreement_id, "name": p.name,
                "productCode": p.product_code, "resourceArn": p.arn(), "versions": p.versions,
                "secretBytes": p.secret_bytes, "tags": p.tags,
                "createdAt": p.created_at.to_rfc3339(), "updatedAt": p.updated_at.to_rfc3339(),
                "expiresAt": p.expires_at.map(|at| at.to_rfc3339()),
            })
        })
        .collect();
    let configurations: DeploymentConfigurations = documents::load(store).map_err(internal)?;
    let jobs: Vec<Value> = configurations
        .jobs
        .iter()
        .rev()
        .filter(|_| wanted.is_none())
        .map(|j| {
            let status = j.status(now);
            let (code, message) = match &status {
                JobStatus::Failed { code, message } => (Some(*code), Some(message.clone())),
                _ => (None, None),
            };
            json!({
                "jobId": j.id, "productCode": j.product_code, "status": status.name(),
                "fulfillmentUrl": j.fulfillment_url, "createdAt": j.created_at.to_rfc3339(),
                "endsAt": j.ends_at().to_rfc3339(), "errorCode": code, "message": message,
            })
        })
        .collect();
    let mut out = json!({
        "deploymentParameters": deployment_parameters,
        "deploymentConfigurationJobs": jobs,
        "cancellationRequests": cancellation_requests,
        "paymentRequests": payment_requests,
        "billingAdjustments": billing_adjustments,
        "invoices": invoices,
        "approvals": buyer_approvals,
    });
    strip_nulls(&mut out);
    ok(out)
}

/// Leaves out members without a value, as the other control answers do.
fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// The buyer's decisions this endpoint plays.
const BUYER_OPERATIONS: [&str; 4] = [
    "AcceptAgreementPaymentRequest",
    "RejectAgreementPaymentRequest",
    "AcceptAgreementCancellationRequest",
    "RejectAgreementCancellationRequest",
];

/// `POST /_mock/agreement-activity/buyer` `{"operation", "input"}`: runs one of
/// `BUYER_OPERATIONS` as the acceptor of the input's `agreementId`, its input held to the
/// model; answers its output (as the Agreement Service's JSON protocol gives it: times in
/// epoch seconds), or the modeled error (`failed`) with the status AWS would give.
pub fn as_buyer<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, req: &HttpRequest) -> Answer {
    let Value::Object(body) = body_json(req)? else {
        return Err(bad(
            "the body must be a JSON object: {\"operation\", \"input\"}",
        ));
    };
    let operation = body
        .get("operation")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !BUYER_OPERATIONS.contains(&operation) {
        return Err(bad(format!(
            "operation must be one of {}",
            BUYER_OPERATIONS.join(", ")
        )));
    }
    let Some(Value::Object(input)) = body.get("input") else {
        return Err(bad("input must be the operation's input, a JSON object"));
    };
    let service = ModelService::Agreement;
    let model = service.model();
    let Some(op) = model.operation(operation) else {
        return Err(super::ControlError(
            500,
            "the Agreement model lacks a buyer operation".into(),
        ));
    };
    if let Some(shape) = &op.input {
        if let Err(e) = validate::input(model, &shape.shape, input) {
            return Ok(failed(&ModelError::invalid(service, e)));
        }
    }
    // The acceptor of the agreement named.
    let agreement_id = input
        .get("agreementId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let products = ns.store.products().map_err(store_err)?;
    let acceptor = products
        .iter()
        .filter(|p| p.integration == Integration::ConcurrentAgreements)
        .flat_map(|p| p.customers.iter())
        .find(|c| rules::agreement_id(c).as_deref() == Some(agreement_id))
        .and_then(|c| c.customer_aws_account_id.as_ref().map(|a| a.to_string()));
    let Some(account) = acceptor else {
        return Err(super::ControlError(
            404,
            format!("no current agreement {agreement_id} with an acceptor account in this namespace (a renewed or replaced agreement's requests are decided by the acceptor through the Agreement Service)"),
        ));
    };
    let caller = Caller {
        access_key_id: account.clone(),
        account: Some(account),
        region: "us-east-1".into(),
        session: None,
    };
    let settings = load_settings(ns.store).map_err(internal)?;
    let now = ns.now().map_err(internal)?;
    let incarnation = ns.incarnation().map_err(internal)?;
    let request_id = format!("control-{}", ns.ids.next_uuid());
    let call = Call {
        caller: &caller,
        namespace: ns.name,
        incarnation: &incarnation,
        now,
        host_now: ns.host_now,
        settings: &settings,
        request_id: &request_id,
        task_header: None,
        customers_per_product: ns.deployment.limits.customers_per_product,
    };
    let input: Map<String, Value> = input.clone();
    match ops::agreement::dispatch(service, op, &input, &call, ns.store, ns.ids) {
        Ok(output) => ok(output),
        Err(e) => Ok(failed(&e)),
    }
}

/// A modeled error as this endpoint answers it: the status AWS would, `error` (its name and
/// message, as every control answer says what went wrong), `type` (its name) and its members
/// (`reason`, `resourceId`…).
fn failed(e: &ModelError) -> crate::protocol::http::HttpResponse {
    let mut body = json!({ "error": format!("{}: {}", e.name, e.message), "type": e.name });
    for (name, value) in &e.members {
        body[name] = value.clone();
    }
    crate::protocol::http::HttpResponse::json(e.status, &body)
}
