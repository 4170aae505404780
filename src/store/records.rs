//! The records a store keeps besides documents and the journal: usage ledger entries (and
//! what of them a row's document holds), the ledger's queries, client tokens and
//! RegisterUsage's registrations.

use serde::{Deserialize, Serialize};

use crate::domain::allocation::Tag;
use crate::domain::quantity::Quantity;
use crate::domain::time::Instant;
use crate::protocol::operation::Operation;

/// An allocation as kept in the ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerAllocation {
    #[serde(with = "quantity_text")]
    pub quantity: Quantity,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

/// One recorded usage: what `/_mock/usage` lists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageEntry {
    pub metering_record_id: String,
    /// The deduplication key: (operation kind, product, customer or caller, dimension, hour).
    pub ledger_key: String,
    /// MeterUsage or BatchMeterUsage.
    pub operation: Operation,
    pub product_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_identifier: Option<String>,
    #[serde(
        default,
        rename = "customerAWSAccountId",
        skip_serializing_if = "Option::is_none"
    )]
    pub customer_aws_account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_arn: Option<String>,
    pub dimension: String,
    /// The usage hour (timestamp rounded down).
    pub hour: Instant,
    /// The timestamp as sent, in epoch milliseconds.
    pub timestamp: Instant,
    #[serde(with = "quantity_text")]
    pub quantity: Quantity,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allocations: Vec<LedgerAllocation>,
    /// The calling identity: the 12-digit account, or the access key id of a wildcard caller.
    pub caller: String,
    /// The caller's credential session (a digest of its security token), for MeterUsage
    /// calls that carried one: the instance, task or pod that recorded the hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The `X-Mock-Task-Id` a MeterUsage call named its instance by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    pub region: String,
    pub received_at: Instant,
    pub request_id: String,
}

/// What of a `UsageEntry` a table with columns for the others keeps as its document: the
/// entry's fields but its ledger key, record id, product, customer names, dimension and
/// hour. Each record of a batch is then written a third smaller; the SQL store merges the
/// columns back when it reads (a JSON merge patch, in which a NULL column is an absent field).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageDocRest<'a> {
    operation: &'a Operation,
    timestamp: &'a Instant,
    #[serde(with = "quantity_text")]
    quantity: &'a Quantity,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    allocations: &'a Vec<LedgerAllocation>,
    caller: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    session: &'a Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    task: &'a Option<String>,
    region: &'a str,
    received_at: &'a Instant,
    request_id: &'a str,
}

impl UsageEntry {
    /// The document a table with columns for the other fields keeps (see `UsageDocRest`).
    pub fn rest_doc(&self) -> UsageDocRest<'_> {
        // Named one by one, with no `..`: a field added to the entry must be placed here.
        let UsageEntry {
            metering_record_id: _,
            ledger_key: _,
            operation,
            product_code: _,
            customer_identifier: _,
            customer_aws_account_id: _,
            license_arn: _,
            dimension: _,
            hour: _,
            timestamp,
            quantity,
            allocations,
            caller,
            session,
            task,
            region,
            received_at,
            request_id,
        } = self;
        UsageDocRest {
            operation,
            timestamp,
            quantity,
            allocations,
            caller,
            session,
            task,
            region,
            received_at,
            request_id,
        }
    }
}

/// Filters of `/_mock/usage`; every one is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsageQuery {
    pub product_code: Option<String>,
    /// Matches the customer identifier, the customer account or the license ARN.
    pub customer: Option<String>,
    pub dimension: Option<String>,
    /// Usage hours from (inclusive) and to (exclusive).
    pub from: Option<Instant>,
    pub to: Option<Instant>,
    pub limit: usize,
    /// The newest `limit` entries, newest first, instead of the oldest, oldest first.
    pub newest_first: bool,
}

impl UsageQuery {
    pub fn matches(&self, e: &UsageEntry) -> bool {
        let customer_matches = |c: &str| {
            [
                &e.customer_identifier,
                &e.customer_aws_account_id,
                &e.license_arn,
            ]
            .iter()
            .any(|v| v.as_deref() == Some(c))
        };
        self.product_code
            .as_ref()
            .is_none_or(|p| *p == e.product_code)
            && self.customer.as_deref().is_none_or(customer_matches)
            && self.dimension.as_ref().is_none_or(|d| *d == e.dimension)
            && self.from.is_none_or(|f| e.hour >= f)
            && self.to.is_none_or(|t| e.hour < t)
    }
}

/// A remembered MeterUsage `ClientToken`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientTokenEntry {
    /// Tokens are scoped to the caller's instance (`Caller::instance`).
    pub caller: String,
    pub token: String,
    /// The request's parameters, canonicalised; equal fingerprints are the same request.
    pub fingerprint: String,
    pub metering_record_id: String,
}

/// How RegisterUsage told one task (container, pod) from another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskSource {
    /// The `X-Mock-Task-Id` header.
    Header,
    /// The request's `Nonce`.
    Nonce,
    /// The credential session (`X-Amz-Security-Token`) of the task's or pod's role.
    Session,
    /// None of these: the call was a task of its own. Only rows registered before such calls were
    /// merely counted have it; it stays so that they still read.
    Call,
}

/// A task registered by RegisterUsage (its first successful call): what
/// `/_mock/registrations` lists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Registration {
    /// (product, caller identity, task id) as JSON, with a fourth part `"session"` when the
    /// task is a credential session; unique.
    pub task_key: String,
    pub task_id: String,
    pub task_source: TaskSource,
    pub product_code: String,
    /// The calling identity: the 12-digit account, or the access key id of a wildcard caller.
    pub caller: String,
    pub region: String,
    pub public_key_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub registered_at: Instant,
    pub request_id: String,
}

/// Quantities are kept and shown as exact decimal text.
mod quantity_text {
    use crate::domain::quantity::Quantity;
    use serde::{Deserialize, Deserializer, Serializer};

    /// A `Quantity`, or a reference to one.
    pub fn serialize<S: Serializer, Q: std::fmt::Display>(q: &Q, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(q)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Quantity, D::Error> {
        let text = String::deserialize(d)?;
        Quantity::parse_decimal(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("bad quantity '{text}'")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SQL store's read: the kept document with the columns merged in, a NULL column
    /// an absent field (SQLite's `json_patch`).
    fn merged(e: &UsageEntry) -> serde_json::Value {
        let mut doc = serde_json::to_value(e.rest_doc()).unwrap();
        let map = doc.as_object_mut().unwrap();
        for (field, column) in [
            ("meteringRecordId", Some(&e.metering_record_id)),
            ("ledgerKey", Some(&e.ledger_key)),
            ("productCode", Some(&e.product_code)),
            ("customerIdentifier", e.customer_identifier.as_ref()),
            ("customerAWSAccountId", e.customer_aws_account_id.as_ref()),
            ("licenseArn", e.license_arn.as_ref()),
            ("dimension", Some(&e.dimension)),
        ] {
            assert!(!map.contains_key(field), "{field} is a column");
            if let Some(value) = column {
                map.insert(field.into(), value.clone().into());
            }
        }
        map.insert("hour".into(), e.hour.millis().into());
        doc
    }

    #[test]
    fn a_ledger_document_and_its_columns_are_the_whole_entry() {
        let bare = UsageEntry {
            metering_record_id: "id".into(),
            ledger_key: "[[\"MeterUsage\",\"p\",\"i\",\"d\"],0]".into(),
            operation: Operation::MeterUsage,
            product_code: "p".into(),
            customer_identifier: None,
            customer_aws_account_id: None,
            license_arn: None,
            dimension: "d".into(),
            hour: Instant(3_600_000),
            timestamp: Instant(3_600_123),
            quantity: Quantity::parse_decimal("1.5").unwrap(),
            allocations: Vec::new(),
            caller: "111122223333".into(),
            session: None,
            task: None,
            region: "us-east-1".into(),
            received_at: Instant(3_700_000),
            request_id: "r".into(),
        };
        let full = UsageEntry {
            operation: Operation::BatchMeterUsage,
            customer_identifier: Some("c".into()),
            customer_aws_account_id: Some("444455556666".into()),
            license_arn: Some("arn:aws:license-manager::444455556666:license:l-1".into()),
            allocations: vec![LedgerAllocation {
                quantity: Quantity::parse_decimal("0.5").unwrap(),
                tags: vec![Tag {
                    key: "k".into(),
                    value: "v".into(),
                }],
            }],
            session: Some("s".into()),
            task: Some("t".into()),
            ..bare.clone()
        };
        for e in [bare, full] {
            assert_eq!(merged(&e), serde_json::to_value(&e).unwrap());
            let back: UsageEntry = serde_json::from_value(merged(&e)).unwrap();
            assert_eq!(back, e);
        }
    }
}
