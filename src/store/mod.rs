//! Storage of one namespace: the `Store` trait every backend implements; the records it
//! keeps are in `records` (ledger entries, client tokens, registrations), `journal` and
//! `documents`, its contract suite in `contract`.
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
pub mod keys;
pub mod memory;
mod records;

pub use records::{
    ClientTokenEntry, LedgerAllocation, Registration, TaskSource, UsageDocRest, UsageEntry,
    UsageQuery,
};

use std::rc::Rc;

use crate::domain::bill::UsageTotal;
use crate::domain::catalogue::Product;
use crate::domain::notification::EventRecord;
use crate::domain::time::Instant;
use crate::error::ServiceError;
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
    /// Every product, ordered by product code (shared, as cached: a change is a `put_product`).
    fn products(&self) -> StoreResult<Vec<Rc<Product>>>;
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
