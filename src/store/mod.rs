//! Storage of one namespace: the `Store` trait every backend implements, and the records
//! it keeps (catalogue, usage ledger, client tokens, notification events, container
//! registrations, settings).
//!
//! Layer: store. Methods are synchronous on purpose: inside the Durable Object an operation
//! reads, decides and writes with no `await` in between, so it is one atomic step. The
//! deciding is done by `ops`; a store only keeps and finds. `insert_usage` must refuse a
//! second entry with the same `ledger_key`, as the last line of defence against double counting.
//!
//! No input may make a namespace's storage grow without a bound: a store keeps only the
//! newest entries of each growing kind, as many as its `Retention` says, and drops the
//! oldest in the same call that inserts beyond it.

pub mod contract;
pub mod documents;
pub mod journal;
pub mod memory;

use std::rc::Rc;

use serde::{Deserialize, Serialize};

use crate::domain::allocation::Tag;
use crate::domain::bill::UsageTotal;
use crate::domain::catalogue::Product;
use crate::domain::notification::EventRecord;
use crate::domain::quantity::Quantity;
use crate::domain::time::Instant;
use crate::error::ServiceError;
use crate::protocol::operation::Operation;
use journal::{JournalEntry, JournalPage, JournalQuery};

/// A failure of the backend itself (never a client's fault).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "store: {}", self.0)
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        ServiceError::internal(e)
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// How many entries of each growing kind a store keeps; beyond it the oldest are dropped.
/// A bound below 1 is taken as 1, so the newest entry always stays (event numbering
/// continues from it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    pub events: usize,
    pub registrations: usize,
    /// Usage entries, and MeterUsage client tokens (one per call, like its entry).
    pub usage_records: usize,
    /// Entries of the request journal.
    pub journal: usize,
}

impl Default for Retention {
    /// The deployment's defaults (`MAX_EVENTS`, `MAX_REGISTRATIONS`, `MAX_USAGE_RECORDS`,
    /// `MAX_JOURNAL_ENTRIES`).
    fn default() -> Self {
        Retention {
            events: 10_000,
            registrations: 10_000,
            usage_records: 200_000,
            journal: 1_000,
        }
    }
}

impl Retention {
    /// The same bounds, each at least 1: what a store keeps.
    pub fn at_least_one(self) -> Retention {
        Retention {
            events: self.events.max(1),
            registrations: self.registrations.max(1),
            usage_records: self.usage_records.max(1),
            journal: self.journal.max(1),
        }
    }
}

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

/// Storage of one namespace.
pub trait Store {
    /// Small named documents: settings, clock, markers.
    fn meta(&self, key: &str) -> StoreResult<Option<String>>;
    fn put_meta(&mut self, key: &str, value: &str) -> StoreResult<()>;
    /// Forgets the documents whose key starts with `prefix` and whose value sorts before
    /// `before` (values of such records are RFC 3339 instants, which sort as text).
    fn forget_meta_before(&mut self, prefix: &str, before: &str) -> StoreResult<()>;

    /// Shared, not copied: a product may list thousands of customers, and most calls only
    /// read it.
    fn product(&self, code: &str) -> StoreResult<Option<Rc<Product>>>;
    /// Every product, ordered by product code.
    fn products(&self) -> StoreResult<Vec<Product>>;
    fn put_product(&mut self, product: &Product) -> StoreResult<()>;
    fn delete_product(&mut self, code: &str) -> StoreResult<bool>;

    /// The entry of a ledger key. A key names its usage hour (see `ops::ledger_key`), which
    /// comes with it so that a store can keep its keys ordered by hour: the keys one call
    /// writes are then neighbours, not scattered over the whole index.
    fn usage_by_key(&self, hour: Instant, ledger_key: &str) -> StoreResult<Option<UsageEntry>>;
    /// Must fail, changing nothing, when the ledger key is already present. Record ids are
    /// random UUIDs and not checked for uniqueness (no lookup uses them).
    /// Keeps the newest `Retention::usage_records` entries: a dropped entry no longer
    /// deduplicates its ledger key.
    fn insert_usage(&mut self, entry: &UsageEntry) -> StoreResult<()>;
    /// The entries of those `(hour, ledger key)`s that are present, in any order (a batch's
    /// lookups at once; a store may answer them in one round trip).
    fn usage_by_keys(&self, keys: &[(Instant, &str)]) -> StoreResult<Vec<UsageEntry>> {
        keys.iter()
            .filter_map(|(hour, key)| self.usage_by_key(*hour, key).transpose())
            .collect()
    }
    /// `insert_usage` for each entry, in order (a batch's records at once).
    fn insert_usages(&mut self, entries: &[UsageEntry]) -> StoreResult<()> {
        entries.iter().try_for_each(|e| self.insert_usage(e))
    }
    /// Matching entries in the order they were recorded (or the reverse, `newest_first`), at
    /// most `query.limit`.
    fn query_usage(&self, query: &UsageQuery) -> StoreResult<Vec<UsageEntry>>;
    /// The exact sums of the quantities of usage hours in `[from, to)` (of one product, if
    /// given) per product, customer (identifier, account, license) and dimension, ordered by
    /// those; what the bill preview prices. Sums the whole ledger's range, however large.
    fn usage_totals(
        &self,
        from: Instant,
        to: Instant,
        product_code: Option<&str>,
    ) -> StoreResult<Vec<UsageTotal>>;

    fn client_token(&self, caller: &str, token: &str) -> StoreResult<Option<ClientTokenEntry>>;
    /// Inserts or replaces the token of `(caller, token)`. Keeps the newest
    /// `Retention::usage_records` tokens, by first insertion; a replacement does not renew one.
    fn put_client_token(&mut self, entry: &ClientTokenEntry) -> StoreResult<()>;

    /// Appends a notification event, assigning the next `seq` (from 1); returns it. Keeps the
    /// newest `Retention::events` events; numbering goes on after the oldest are dropped.
    fn append_event(&mut self, event: &EventRecord) -> StoreResult<u64>;
    /// Replaces the event with the same `seq` (its deliveries moved on).
    fn update_event(&mut self, event: &EventRecord) -> StoreResult<()>;
    /// Events with `seq` above `after`, oldest first, at most `limit`.
    fn events(&self, after: u64, limit: usize) -> StoreResult<Vec<EventRecord>>;
    /// Events with a pending delivery due at or before `now` (host time), oldest first.
    fn events_due(&self, now: Instant, limit: usize) -> StoreResult<Vec<EventRecord>>;
    /// The earliest pending delivery time of any event.
    fn next_delivery_at(&self) -> StoreResult<Option<Instant>>;

    fn registration(&self, task_key: &str) -> StoreResult<Option<Registration>>;
    /// Must fail, changing nothing, when the task key is already registered. Keeps the
    /// newest `Retention::registrations` registrations: a dropped task registers anew.
    fn insert_registration(&mut self, registration: &Registration) -> StoreResult<()>;
    /// Registrations (of one product, if given) in the order they were made, at most `limit`.
    fn registrations(
        &self,
        product_code: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Registration>>;

    /// The record behind a registration token (`None`: unknown, or forgotten). A store keeps
    /// at most `MAX_REGISTRATION_TOKENS` records, the oldest minted going first.
    fn registration_token(&self, key: &str) -> StoreResult<Option<String>>;
    /// Keeps a registration token's record until `keep_until` (namespace time), and forgets
    /// the records kept past theirs at `now`, so they do not pile up.
    fn put_registration_token(
        &mut self,
        key: &str,
        record: &str,
        keep_until: Instant,
        now: Instant,
    ) -> StoreResult<()>;

    /// Appends an entry to the request journal, numbered above every entry it ever held
    /// (from 1), and keeps the newest `Retention::journal`; returns its number.
    fn append_journal(&mut self, entry: &JournalEntry) -> StoreResult<u64>;
    /// Journal entries matching the query, newest first, and how many match in all.
    fn journal(&self, query: &JournalQuery) -> StoreResult<JournalPage>;
    /// Forgets every journal entry (numbering goes on); returns how many there were.
    fn clear_journal(&mut self) -> StoreResult<usize>;

    /// Forgets everything of the namespace.
    fn clear(&mut self) -> StoreResult<()>;

    /// Whether an operation of the store failed since the last call. A request during which
    /// one did is rolled back whole by its host and answered with a retryable 500, whatever
    /// the code that saw the failure did with it: no request is ever half applied.
    fn take_failure(&self) -> bool {
        false
    }
}

/// Registration-token records a namespace keeps, whatever its clock says (a frozen clock
/// would otherwise keep every one).
pub const MAX_REGISTRATION_TOKENS: usize = 10_000;

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
