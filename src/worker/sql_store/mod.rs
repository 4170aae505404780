//! The Durable Object's SQLite store. The object is the only writer of its database, so
//! the catalogue and the small meta documents are cached in memory after the first read.
//! Uniqueness of ledger keys is also enforced by the schema: a unique index on (hour, key),
//! so that the keys one call writes, all of a few hours, share index pages.
//!
//! The bounds of its `Retention` are kept by numbers that grow with each row: `seq` in the
//! ledger, events and registrations tables, the implicit `rowid` of client tokens (an upsert
//! keeps a row's). No row is deleted except the oldest ones and all at once (`clear`), so the
//! newest N rows are those numbered above the last number minus N, and pruning after an
//! insert is one range delete on the primary key that finds nothing while under the bound.
//!
//! Here: the store, its caches and `Store`; the tables with more than a line of SQL in
//! their own files (`ledger`, `journal`, `events`, `registrations`), the `schema` and its
//! migrations, and the `values` statements bind and read.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use serde::de::DeserializeOwned;
use worker::{SqlStorage, SqlStorageValue};

use crate::domain::bill::UsageTotal;
use crate::domain::catalogue::Product;
use crate::domain::notification::EventRecord;
use crate::domain::time::Instant;
use crate::store::journal::{JournalEntry, JournalPage, JournalQuery};
use crate::store::{
    ClientTokenEntry, Registration, Retention, Store, StoreError, StoreResult, UsageEntry,
    UsageQuery,
};

mod events;
mod journal;
mod ledger;
mod registrations;
mod schema;
mod values;

use values::{
    count, fail, opt_instant, opt_text, permanent_cause, text, Count, Doc, RowId, Seq, Value,
};

pub struct SqlStore {
    sql: SqlStorage,
    retention: Retention,
    /// Set when creating the schema failed; every call then reports it.
    broken: Option<String>,
    meta: RefCell<HashMap<String, Option<String>>>,
    products: RefCell<Option<BTreeMap<String, Rc<Product>>>>,
    /// Set when an event is appended, or what the alarm waits for changes (the clock, the
    /// next agreement milestone), so the object knows to set its alarm again.
    appended_events: std::cell::Cell<bool>,
    /// Set when a statement failed (see `Store::take_failure`).
    failed: std::cell::Cell<bool>,
    /// The cause of a failed statement that a retry would meet again (`permanent_cause`).
    permanent: RefCell<Option<String>>,
    /// Tests of the mock: which write of the current step fails, and how.
    fail_write: std::cell::Cell<Option<InjectedFault>>,
    writes: std::cell::Cell<u32>,
}

/// Tests of the mock (`x-mock-fail-write: <n>[ permanent]`): the `write`-th write of a step
/// fails, as a retry could pass or (`permanent`) as it could not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InjectedFault {
    pub write: u32,
    pub permanent: bool,
}

impl InjectedFault {
    /// The header's value: a write's number, then `permanent` or nothing.
    pub fn parse(header: &str) -> Option<InjectedFault> {
        let mut words = header.split_whitespace();
        let write = words.next()?.parse().ok()?;
        let permanent = match words.next() {
            None => false,
            Some("permanent") => true,
            Some(_) => return None,
        };
        words
            .next()
            .is_none()
            .then_some(InjectedFault { write, permanent })
    }
}

/// Bound parameters per statement: the Durable Object SQL API's limit is 100.
const MAX_BOUND_PARAMETERS: usize = 99;

/// The namespace's few documents (settings, clock, keys) are cached; per-item records (keys
/// with a '/', such as resolved-token markers) are not, so the cache cannot grow with use.
fn is_cached(key: &str) -> bool {
    !key.contains('/')
}

fn parse<T: DeserializeOwned>(doc: &str) -> StoreResult<T> {
    serde_json::from_str(doc).map_err(fail)
}

impl SqlStore {
    pub fn open(sql: SqlStorage, retention: Retention) -> SqlStore {
        let broken = sql
            .exec(schema::SCHEMA, None)
            .and_then(|_| schema::migrate(&sql))
            .err()
            .map(|e| format!("schema: {e}"));
        SqlStore {
            sql,
            retention: retention.at_least_one(),
            broken,
            meta: RefCell::new(HashMap::new()),
            products: RefCell::new(None),
            appended_events: std::cell::Cell::new(false),
            failed: std::cell::Cell::new(false),
            permanent: RefCell::new(None),
            fail_write: std::cell::Cell::new(None),
            writes: std::cell::Cell::new(0),
        }
    }

    /// Tests of the mock: from now, a write fails in SQLite (`None`: none does).
    pub fn fail_write(&self, fault: Option<InjectedFault>) {
        self.fail_write.set(fault);
        self.writes.set(0);
    }

    /// The cause of the last failed statement when a retry would fail again, if it was one.
    pub fn take_permanent_failure(&self) -> Option<String> {
        self.permanent.borrow_mut().take()
    }

    /// Whether its schema could not be made (the next request opens it again).
    pub fn is_broken(&self) -> bool {
        self.broken.is_some()
    }

    /// Forgets what is cached from the database (after its transaction was rolled back).
    pub fn forget_cached(&self) {
        self.meta.borrow_mut().clear();
        *self.products.borrow_mut() = None;
        self.appended_events.set(false);
    }

    /// Whether events were appended (or the alarm's times changed) since the last call.
    pub fn take_appended_events(&self) -> bool {
        self.appended_events.replace(false)
    }

    fn rows<T: DeserializeOwned>(
        &self,
        query: &str,
        bindings: Vec<SqlStorageValue>,
    ) -> StoreResult<Vec<T>> {
        if let Some(reason) = &self.broken {
            return Err(self.failure(reason));
        }
        self.sql
            .exec(query, bindings)
            .and_then(|cursor| cursor.to_array())
            .map_err(|e| self.failure(e))
    }

    fn failure(&self, e: impl std::fmt::Display) -> StoreError {
        self.failed.set(true);
        let error = fail(e);
        if let Some(cause) = permanent_cause(&error.0) {
            *self.permanent.borrow_mut() = Some(cause);
        }
        error
    }

    fn run(&self, query: &str, bindings: Vec<SqlStorageValue>) -> StoreResult<()> {
        self.write_rows::<serde_json::Value>(query, bindings)
            .map(|_| ())
    }

    /// A writing statement, and the rows it returns (`RETURNING`).
    fn write_rows<T: DeserializeOwned>(
        &self,
        query: &str,
        bindings: Vec<SqlStorageValue>,
    ) -> StoreResult<Vec<T>> {
        if let Some(reason) = &self.broken {
            return Err(self.failure(reason));
        }
        let write = self.writes.get() + 1;
        self.writes.set(write);
        let injected = self.fail_write.get().filter(|f| f.write == write);
        let cursor = if let Some(fault) = injected {
            // A statement SQLite itself refuses, in place of this write: one a retry could
            // pass (no such table), or one it cannot (a value over SQLite's size limit).
            let refused = if fault.permanent {
                "SELECT zeroblob(2147483647)"
            } else {
                "INSERT INTO injected_storage_fault VALUES (1)"
            };
            self.sql.exec(refused, None)
        } else {
            self.sql.exec(query, bindings)
        };
        cursor
            .and_then(|cursor| cursor.to_array())
            .map_err(|e| self.failure(e))
    }

    /// Keeps the newest `keep` rows of `table` (`ledger`, `journal` or `client_tokens`), given
    /// the rowid just written; no statement at all while the table is below its retention.
    fn trim(&self, table: &str, newest_rowid: i64, keep: usize) -> StoreResult<()> {
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        if newest_rowid <= keep {
            return Ok(());
        }
        self.run(
            &format!("DELETE FROM {table} WHERE rowid <= ?"),
            vec![SqlStorageValue::Integer(newest_rowid - keep)],
        )
    }

    fn with_products<T>(
        &self,
        f: impl FnOnce(&BTreeMap<String, Rc<Product>>) -> T,
    ) -> StoreResult<T> {
        let mut cache = self.products.borrow_mut();
        let all = match cache.take() {
            Some(all) => all,
            None => {
                let docs: Vec<Doc> = self.rows("SELECT doc FROM products", vec![])?;
                let mut all = BTreeMap::new();
                for d in docs {
                    let p: Product = parse(&d.doc)?;
                    all.insert(p.product_code.to_string(), Rc::new(p));
                }
                all
            }
        };
        let answer = f(&all);
        *cache = Some(all);
        Ok(answer)
    }
}

impl Store for SqlStore {
    fn meta(&self, key: &str) -> StoreResult<Option<String>> {
        if let Some(cached) = self.meta.borrow().get(key) {
            return Ok(cached.clone());
        }
        let rows: Vec<Value> =
            self.rows("SELECT value FROM meta WHERE key = ?", vec![text(key)])?;
        let value = rows.into_iter().next().map(|r| r.value);
        if is_cached(key) {
            self.meta
                .borrow_mut()
                .insert(key.to_string(), value.clone());
        }
        Ok(value)
    }

    fn forget_meta_before(&mut self, prefix: &str, before: &str) -> StoreResult<()> {
        // `prefix` to `prefix` + U+FFFF: every key that starts with it, using the index.
        let end = format!("{prefix}\u{ffff}");
        self.run(
            "DELETE FROM meta WHERE key >= ? AND key < ? AND value < ?",
            vec![text(prefix), text(&end), text(before)],
        )?;
        self.meta
            .borrow_mut()
            .retain(|key, _| !key.starts_with(prefix));
        Ok(())
    }

    fn put_meta(&mut self, key: &str, value: &str) -> StoreResult<()> {
        self.run(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            vec![text(key), text(value)],
        )?;
        if is_cached(key) {
            self.meta
                .borrow_mut()
                .insert(key.to_string(), Some(value.to_string()));
        }
        if key == crate::store::documents::CLOCK || key == crate::store::documents::NEXT_MILESTONE {
            self.appended_events.set(true);
        }
        Ok(())
    }

    fn product(&self, code: &str) -> StoreResult<Option<Rc<Product>>> {
        self.with_products(|all| all.get(code).cloned())
    }

    fn products(&self) -> StoreResult<Vec<Rc<Product>>> {
        self.with_products(|all| all.values().cloned().collect())
    }

    fn put_product(&mut self, product: &Product) -> StoreResult<()> {
        let doc = serde_json::to_string(product).map_err(fail)?;
        self.run(
            "INSERT INTO products (code, doc) VALUES (?, ?) ON CONFLICT (code) DO UPDATE SET doc = excluded.doc",
            vec![text(&product.product_code), text(&doc)],
        )?;
        *self.products.borrow_mut() = None;
        Ok(())
    }

    fn delete_product(&mut self, code: &str) -> StoreResult<bool> {
        let existed = self.product(code)?.is_some();
        self.run("DELETE FROM products WHERE code = ?", vec![text(code)])?;
        *self.products.borrow_mut() = None;
        Ok(existed)
    }

    fn usage_by_key(&self, hour: Instant, ledger_key: &str) -> StoreResult<Option<UsageEntry>> {
        self.ledger_row(hour, ledger_key)
    }

    fn insert_usage(&mut self, e: &UsageEntry) -> StoreResult<()> {
        self.insert_usages(std::slice::from_ref(e))
    }

    fn usage_by_keys(&self, keys: &[(Instant, &str)]) -> StoreResult<Vec<UsageEntry>> {
        self.ledger_rows(keys)
    }

    fn insert_usages(&mut self, entries: &[UsageEntry]) -> StoreResult<()> {
        self.insert_ledger_rows(entries)
    }

    fn query_usage(&self, q: &UsageQuery) -> StoreResult<Vec<UsageEntry>> {
        self.query_ledger(q)
    }

    fn usage_totals(
        &self,
        from: Instant,
        to: Instant,
        product_code: Option<&str>,
    ) -> StoreResult<Vec<UsageTotal>> {
        self.ledger_totals(from, to, product_code)
    }

    fn client_token(&self, caller: &str, token: &str) -> StoreResult<Option<ClientTokenEntry>> {
        let rows: Vec<Doc> = self.rows(
            "SELECT doc FROM client_tokens WHERE caller = ? AND token = ?",
            vec![text(caller), text(token)],
        )?;
        rows.first().map(|r| parse(&r.doc)).transpose()
    }

    fn put_client_token(&mut self, entry: &ClientTokenEntry) -> StoreResult<()> {
        let doc = serde_json::to_string(entry).map_err(fail)?;
        let rows: Vec<RowId> = self.write_rows(
            "INSERT INTO client_tokens (caller, token, doc) VALUES (?, ?, ?) ON CONFLICT (caller, token) DO UPDATE SET doc = excluded.doc RETURNING rowid",
            vec![text(&entry.caller), text(&entry.token), text(&doc)],
        )?;
        // A replacement answers its old row, which cannot take the table past its retention.
        let newest = rows.first().map_or(0, |r| r.rowid);
        self.trim("client_tokens", newest, self.retention.usage_records)
    }

    fn append_event(&mut self, event: &EventRecord) -> StoreResult<u64> {
        self.insert_event(event)
    }

    fn update_event(&mut self, event: &EventRecord) -> StoreResult<()> {
        self.rewrite_event(event)
    }

    fn events(&self, after: u64, limit: usize) -> StoreResult<Vec<EventRecord>> {
        self.event_rows(after, limit)
    }

    fn events_due(&self, now: Instant, limit: usize) -> StoreResult<Vec<EventRecord>> {
        self.due_event_rows(now, limit)
    }

    fn next_delivery_at(&self) -> StoreResult<Option<Instant>> {
        self.earliest_due()
    }

    fn registration(&self, task_key: &str) -> StoreResult<Option<Registration>> {
        self.registration_row(task_key)
    }

    fn insert_registration(&mut self, r: &Registration) -> StoreResult<()> {
        self.insert_registration_row(r)
    }

    fn registrations(
        &self,
        product_code: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Registration>> {
        self.registration_rows(product_code, limit)
    }

    fn append_journal(&mut self, entry: &JournalEntry) -> StoreResult<u64> {
        self.append_journal_row(entry)
    }

    fn journal(&self, q: &JournalQuery) -> StoreResult<JournalPage> {
        self.journal_page(q)
    }

    fn clear_journal(&mut self) -> StoreResult<usize> {
        self.clear_journal_rows()
    }

    fn take_failure(&self) -> bool {
        self.failed.replace(false)
    }

    fn registration_token(&self, key: &str) -> StoreResult<Option<String>> {
        self.token_record(key)
    }

    fn put_registration_token(
        &mut self,
        key: &str,
        record: &str,
        keep_until: Instant,
        now: Instant,
    ) -> StoreResult<()> {
        self.put_token_record(key, record, keep_until, now)
    }

    fn clear(&mut self) -> StoreResult<()> {
        for table in [
            "meta",
            "products",
            "ledger",
            "journal",
            "client_tokens",
            "events",
            "registrations",
            "registration_tokens",
        ] {
            self.run(&format!("DELETE FROM {table}"), vec![])?;
        }
        self.meta.borrow_mut().clear();
        *self.products.borrow_mut() = None;
        Ok(())
    }
}
