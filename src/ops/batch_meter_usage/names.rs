//! Whom a batch is for: its product (named, or the one holding every record's license) and
//! each record's customer, named as the product's integration asks.

use std::rc::Rc;

use super::super::known_product;
use super::{BatchMeterUsageRequest, UsageRecord};
use crate::domain::catalogue::{Customer, Integration, Product};
use crate::domain::settings::UnknownCustomerPolicy;
use crate::error::{err, phrased_err, ErrorKind, ServiceError};
use crate::ops::Call;
use crate::store::Store;

/// The product of the batch: the request's `ProductCode`, or the one product that holds
/// every record's license. `None` only for an empty batch without a product code.
pub(super) fn product_of<S: Store + ?Sized>(
    req: &BatchMeterUsageRequest,
    namespace: &str,
    store: &S,
) -> Result<Option<Rc<Product>>, ServiceError> {
    if let Some(code) = &req.product_code {
        return named_product(req, code, namespace, store).map(Some);
    }
    if req.records.is_empty() {
        return Ok(None);
    }
    let products = store.products()?;
    let mut found: Option<&Rc<Product>> = None;
    for r in &req.records {
        let product = product_of_license(r, &products)?;
        match found {
            Some(p) if p.product_code != product.product_code => {
                return Err(ServiceError::phrased(
                    ErrorKind::InvalidLicenseException,
                    format!(
                        "all records of a request must be for one product: '{}' is a license of {}, an earlier record's of {}",
                        r.path, product.product_code, p.product_code
                    )),
                )
            }
            _ => found = Some(product),
        }
    }
    Ok(found.cloned())
}

/// The product the request names, which no record's license may contradict.
fn named_product<S: Store + ?Sized>(
    req: &BatchMeterUsageRequest,
    code: &str,
    namespace: &str,
    store: &S,
) -> Result<Rc<Product>, ServiceError> {
    let product = known_product(store, namespace, code)?;
    for r in &req.records {
        if let Some(license) = &r.license_arn {
            let elsewhere = product.customer_by_license(license).is_none()
                && store
                    .products()?
                    .iter()
                    .any(|p| p.customer_by_license(license).is_some());
            if elsewhere {
                return Err(ServiceError::phrased(
                    ErrorKind::InvalidLicenseException,
                    format!("LicenseArn '{license}' at '{}' is a license of another product than {code}", r.path),
                ));
            }
        }
    }
    Ok(product)
}

/// The product that holds a record's license, for a request without a product code.
fn product_of_license<'p>(
    r: &UsageRecord,
    products: &'p [Rc<Product>],
) -> Result<&'p Rc<Product>, ServiceError> {
    let Some(license) = &r.license_arn else {
        return err(
            ErrorKind::InvalidProductCodeException,
            format!(
                "ProductCode is required unless every record has a LicenseArn ('{}' has none)",
                r.path
            ),
        );
    };
    products
        .iter()
        .find(|p| p.customer_by_license(license).is_some())
        .ok_or_else(|| {
            ServiceError::phrased(
                ErrorKind::InvalidLicenseException,
                format!(
                    "LicenseArn '{license}' at '{}' is not a license of any product",
                    r.path
                ),
            )
        })
}

/// The subscribed customer a record is for; `None` when unknown (per-record
/// `CustomerNotSubscribed`, unless the namespace asks for the exception).
pub(super) fn customer_of(
    r: &UsageRecord,
    product: &Product,
    call: &Call<'_>,
) -> Result<Option<Customer>, ServiceError> {
    check_customer_names(r, product)?;
    let (id, account) = (
        r.customer_identifier.as_deref(),
        r.customer_aws_account_id.as_deref(),
    );
    if let Some(license) = r.license_arn.as_deref() {
        let holder = product.customer_by_license(license);
        let matches = holder.is_some_and(|c| {
            (account.is_none() || c.customer_aws_account_id.as_deref() == account)
                && (id.is_none() || c.customer_identifier.as_deref() == id)
        });
        if !matches {
            return Err(ServiceError::phrased(
                ErrorKind::InvalidLicenseException,
                format!(
                    "LicenseArn '{license}' at '{}' is not a license of that customer for product {}",
                    r.path, product.product_code
                )),
            );
        }
        return Ok(holder.cloned());
    }
    let found = match (id, account) {
        (Some(id), _) => product.customer_by_identifier(id),
        (None, Some(account)) => product.customer_by_account(account),
        (None, None) => None,
    };
    if found.is_none()
        && call.settings.unknown_customer == UnknownCustomerPolicy::InvalidCustomerIdentifier
    {
        return phrased_err(
            ErrorKind::InvalidCustomerIdentifierException,
            format!(
                "the customer at '{}' is not a customer of product {}",
                r.path, product.product_code
            ),
        );
    }
    Ok(found.cloned())
}

/// The record names its customer as the product's integration asks: by an identifier or
/// an account (not both), and with a license under concurrent agreements.
fn check_customer_names(r: &UsageRecord, product: &Product) -> Result<(), ServiceError> {
    let invalid_customer = |m: String| err(ErrorKind::InvalidCustomerIdentifierException, m);
    let (id, account, license) = (
        r.customer_identifier.as_deref(),
        r.customer_aws_account_id.as_deref(),
        r.license_arn.as_deref(),
    );
    if id.is_some() && account.is_some() {
        return invalid_customer(format!(
            "CustomerIdentifier and CustomerAWSAccountId are mutually exclusive ('{}')",
            r.path
        ));
    }
    if id.is_none() && account.is_none() {
        return invalid_customer(format!(
            "'{}' names no customer: set CustomerAWSAccountId (or CustomerIdentifier for legacy integrations)",
            r.path
        ));
    }
    if product.integration == Integration::ConcurrentAgreements {
        if id.is_some() {
            return invalid_customer(format!(
                "Product {} uses concurrent agreements: identify the customer at '{}' with CustomerAWSAccountId and LicenseArn, not CustomerIdentifier",
                product.product_code, r.path
            ));
        }
        if license.is_none() {
            return Err(ServiceError::phrased(
                ErrorKind::InvalidLicenseException,
                format!(
                    "product {} uses concurrent agreements: '{}' needs a LicenseArn",
                    product.product_code, r.path
                ),
            ));
        }
    }
    Ok(())
}
