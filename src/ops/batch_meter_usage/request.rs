//! BatchMeterUsage's request, decoded and checked against the model's constraints.

use serde_json::{Map, Value};

use super::super::shapes::{self, echo_record, required_string};
use crate::domain::allocation::{Allocation, QuantityForm};
use crate::domain::constraints::{
    is_account_id, is_license_arn, Violations, ACCOUNT_ID_PATTERN, LICENSE_ARN_PATTERN,
};
use crate::domain::quantity::Quantity;
use crate::error::ServiceError;
use crate::protocol::json::{element_path, structure_element, Structure, WireTimestamp};

pub use super::super::shapes::MAX_BATCH_RECORDS as MAX_RECORDS;

/// One decoded usage record.
#[derive(Debug)]
pub struct UsageRecord {
    pub path: String,
    pub timestamp: WireTimestamp,
    /// `None` when absent or empty (the Rust SDK always sends `""`).
    pub customer_identifier: Option<String>,
    pub customer_aws_account_id: Option<String>,
    pub license_arn: Option<String>,
    pub dimension: String,
    pub quantity: Quantity,
    pub form: QuantityForm,
    pub allocations: Option<(Vec<Allocation>, String)>,
    /// The record as received, for `Results[].UsageRecord`.
    pub echo: Value,
}

#[derive(Debug)]
pub struct BatchMeterUsageRequest {
    /// `None` when absent or empty: the product then comes from the records' licenses.
    pub product_code: Option<String>,
    pub records: Vec<UsageRecord>,
}

impl BatchMeterUsageRequest {
    pub fn decode(input: &Map<String, Value>) -> Result<Self, ServiceError> {
        let s = Structure::new(input, "");
        let mut v = Violations::default();
        let product = s.string("ProductCode")?;
        if let Some(p) = &product {
            shapes::check_product_code(p, &mut v);
        }
        let list = s.list("UsageRecords")?;
        let mut records = Vec::new();
        match &list {
            None => v.missing(&s.path_of("UsageRecords")),
            Some(list) if list.value.len() > MAX_RECORDS => {
                // Too many records: that is the answer; the records themselves are not read.
                v.list_size(list.value.len(), &list.path, 0, MAX_RECORDS);
            }
            Some(list) => {
                for (i, item) in list.value.iter().enumerate() {
                    let path = element_path(&list.path, i);
                    let r = structure_element(item, &path)?;
                    if let Some(record) = decode_record(&r, &path, &mut v)? {
                        records.push(record);
                    }
                }
            }
        }
        v.into_result()?;
        Ok(BatchMeterUsageRequest {
            product_code: product
                .map(|p| p.value.to_string())
                .filter(|p| !p.is_empty()),
            records,
        })
    }
}

fn decode_record(
    r: &Structure<'_>,
    path: &str,
    v: &mut Violations,
) -> Result<Option<UsageRecord>, ServiceError> {
    let timestamp = r.timestamp("Timestamp")?;
    if timestamp.is_none() {
        v.missing(&r.path_of("Timestamp"));
    }
    let customer = r.string("CustomerIdentifier")?;
    if let Some(c) = &customer {
        v.length(c.value, &c.path, 0, Some(255));
    }
    let dimension = required_string(r, "Dimension", v)?;
    if let Some(d) = &dimension {
        v.length(d.value, &d.path, 1, Some(255));
    }
    let (quantity, form) = shapes::quantity(r, "Quantity", "QuantityAsDecimal", v)?;
    let allocations = shapes::allocations(r, v)?;
    let account = r.string("CustomerAWSAccountId")?;
    if let Some(a) = &account {
        v.length(a.value, &a.path, 1, Some(255));
        if !a.value.is_empty() {
            v.pattern(a.value, &a.path, is_account_id(a.value), ACCOUNT_ID_PATTERN);
        }
    }
    let license = r.string("LicenseArn")?;
    if let Some(l) = &license {
        v.pattern(
            l.value,
            &l.path,
            is_license_arn(l.value),
            LICENSE_ARN_PATTERN,
        );
    }
    let (Some(timestamp), Some(dimension)) = (timestamp, dimension) else {
        return Ok(None);
    };
    Ok(Some(UsageRecord {
        path: path.to_string(),
        timestamp,
        customer_identifier: customer
            .map(|c| c.value.to_string())
            .filter(|c| !c.is_empty()),
        customer_aws_account_id: account.map(|a| a.value.to_string()),
        license_arn: license.map(|l| l.value.to_string()),
        dimension: dimension.value.to_string(),
        quantity,
        form,
        allocations,
        echo: echo_record(r.map()),
    }))
}
