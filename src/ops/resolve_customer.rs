//! ResolveCustomer: the seller exchanges the registration token the buyer's browser POSTed
//! to its fulfillment URL for the customer's identifiers.
//!
//! Order of checks: structure (`ValidationException`), token shape and vault record
//! (`InvalidTokenException`), the caller (a 12-digit caller must be the product's seller;
//! the model lists no other error for ResolveCustomer, so this is `InvalidTokenException`
//! too), expiry, then re-submission: a resolved token is `ExpiredTokenException` (the model's
//! "buyer re-submitted the token" case) unless the namespace makes tokens repeatable.

use std::rc::Rc;

use serde::Serialize;
use serde_json::{Map, Value};

use super::shapes::{required_string, CustomerNames};
use super::Call;
use crate::domain::catalogue::{Integration, Product};
use crate::domain::constraints::Violations;
use crate::domain::registration::{token_key, TokenRecord};
use crate::error::{phrased_err, ErrorKind, ServiceError};
use crate::protocol::json::Structure;
use crate::store::Store;

/// ResolveCustomer's answer, the model's `ResolveCustomerResult`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ResolveCustomerResult<'a> {
    product_code: &'a str,
    #[serde(flatten)]
    customer: CustomerNames<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<Metadata<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Metadata<'a> {
    agreement_id: &'a str,
}

pub fn run<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
) -> Result<Value, ServiceError> {
    let s = Structure::new(input, "");
    let mut v = Violations::default();
    let token = required_string(&s, "RegistrationToken", &mut v)?;
    if let Some(t) = &token {
        v.pattern(t.value, &t.path, !t.value.is_empty(), "[\\s\\S]+");
    }
    v.into_result()?;
    let token = token.map(|t| t.value).unwrap_or_default();
    let (key, mut record, product) = issued(token, call, store)?;
    if record.expired_at(call.now) {
        return phrased_err(
            ErrorKind::ExpiredTokenException,
            format!("it expired at {}", record.expires_at.to_rfc3339()),
        );
    }
    if record.resolved_at.is_some() && !call.settings.repeatable_token_resolution {
        return phrased_err(
            ErrorKind::ExpiredTokenException,
            "it was already resolved (re-submitted); ask the buyer to sign up again from AWS Marketplace",
        );
    }
    if record.resolved_at.is_none() {
        record.resolved_at = Some(call.now);
        let text = serde_json::to_string(&record).map_err(ServiceError::internal)?;
        store.put_registration_token(&key, &text, record.keep_until(), call.now)?;
    }
    let legacy = product.integration == Integration::Legacy;
    let result = ResolveCustomerResult {
        product_code: &record.product_code,
        customer: CustomerNames {
            customer_identifier: record.customer_identifier.as_deref().filter(|_| legacy),
            customer_aws_account_id: record.customer_aws_account_id.as_deref(),
            license_arn: record.license_arn.as_deref(),
        },
        metadata: record
            .agreement_id
            .as_deref()
            .map(|agreement_id| Metadata { agreement_id }),
    };
    serde_json::to_value(result).map_err(ServiceError::internal)
}

/// The token's record and product, when this namespace issued the token for a product the
/// caller sells in its Region.
fn issued<S: Store + ?Sized>(
    token: &str,
    call: &Call<'_>,
    store: &S,
) -> Result<(String, TokenRecord, Rc<Product>), ServiceError> {
    let invalid = || {
        phrased_err(
            ErrorKind::InvalidTokenException,
            "it was not issued by AWS Marketplace for this endpoint. Pass the x-amzn-marketplace-token form field exactly as posted (URL-decoded).",
        )
    };
    let Some(key) = token_key(call.namespace, token) else {
        return invalid();
    };
    let Some(text) = store.registration_token(&key)? else {
        return invalid();
    };
    // A record the mock wrote and cannot read is its own failure, not a token never issued.
    let record: TokenRecord = serde_json::from_str(&text).map_err(|e| {
        ServiceError::internal(format!(
            "the stored record of this registration token cannot be read: {e}"
        ))
    })?;
    if record.namespace != call.namespace || record.incarnation != call.incarnation {
        return invalid();
    }
    let Some(product) = store.product(&record.product_code)? else {
        return invalid();
    };
    // The message names neither the product nor its seller: they are another party's.
    if let Some(caller) = product.foreign_seller_call(call.caller.account.as_deref()) {
        return phrased_err(
            ErrorKind::InvalidTokenException,
            format!("account {caller} cannot resolve it; only the seller account of the product it was issued for can"),
        );
    }
    if !product.runs_in(&call.caller.region) {
        return Err(super::disabled_in_region());
    }
    Ok((key, record, product))
}
