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

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use worker::{SqlStorage, SqlStorageValue};

use crate::domain::bill::UsageTotal;
use crate::domain::catalogue::Product;
use crate::domain::notification::EventRecord;
use crate::domain::time::Instant;
use crate::store::journal::{JournalEntry, JournalPage, JournalQuery};
use crate::store::{
    ClientTokenEntry, Registration, Retention, Store, StoreError, StoreResult, UsageEntry,
    UsageQuery, MAX_REGISTRATION_TOKENS,
};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS products (code TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ledger (
  seq INTEGER PRIMARY KEY,
  hour INTEGER NOT NULL,
  ledger_key TEXT NOT NULL,
  id TEXT NOT NULL,
  product TEXT NOT NULL,
  customer_identifier TEXT,
  customer_account TEXT,
  license_arn TEXT,
  dimension TEXT NOT NULL,
  quantity_micros INTEGER NOT NULL,
  doc TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS ledger_by_hour_key ON ledger (hour, ledger_key);
CREATE INDEX IF NOT EXISTS ledger_by_product_hour ON ledger (product, hour);
CREATE TABLE IF NOT EXISTS client_tokens (
  caller TEXT NOT NULL,
  token TEXT NOT NULL,
  doc TEXT NOT NULL,
  PRIMARY KEY (caller, token)
);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY,
  next_attempt_at INTEGER,
  doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_due ON events (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS registration_tokens (
  key TEXT PRIMARY KEY,
  record TEXT NOT NULL,
  keep_until INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS registration_tokens_by_age ON registration_tokens (keep_until);
CREATE TABLE IF NOT EXISTS journal (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  received_at INTEGER NOT NULL,
  operation TEXT,
  status INTEGER NOT NULL,
  error TEXT,
  product TEXT,
  customers TEXT NOT NULL,
  doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS registrations (
  seq INTEGER PRIMARY KEY,
  task_key TEXT NOT NULL UNIQUE,
  product TEXT NOT NULL,
  doc TEXT NOT NULL
);
";

/// A ledger row's whole entry: its document (`UsageEntry::rest_doc`) with the fields kept as
/// columns merged back in (a NULL column is an absent field). Rows written before the
/// document was slimmed hold every field already; the merge sets them to the same values.
const LEDGER_DOC: &str = "json_patch(doc, json_object('meteringRecordId', id, 'ledgerKey', ledger_key, 'productCode', product, 'customerIdentifier', customer_identifier, 'customerAWSAccountId', customer_account, 'licenseArn', license_arn, 'dimension', dimension, 'hour', hour))";

/// Moves the ledger of the 0.1.0 schema, a `usage` table with unique record ids and ledger
/// keys, to `ledger`, keeping each row's number (the retention bound counts on it). That
/// schema paid for two indexes in random order, so every record of a batch dirtied its own
/// index pages: keyed by (hour, key) instead, the records one call writes are neighbours.
/// Quantities (exact decimal text in the documents) become integer millionths, digit by
/// digit, without a float. The usage table is dropped in the same step; a copy cut short is
/// completed by the next open (`OR IGNORE` skips the rows already moved).
const LEDGER_FROM_0_1_0: &str = "
INSERT OR IGNORE INTO ledger (seq, hour, ledger_key, id, product, customer_identifier, customer_account, license_arn, dimension, quantity_micros, doc)
  SELECT seq, hour, ledger_key, id, product, customer_identifier, customer_account, license_arn, dimension,
    CASE WHEN instr(q, '.') = 0 THEN CAST(q AS INTEGER) * 1000000
    ELSE CAST(substr(q, 1, instr(q, '.') - 1) AS INTEGER) * 1000000
      + CAST(substr(substr(q, instr(q, '.') + 1) || '000000', 1, 6) AS INTEGER) END,
    doc
  FROM (SELECT *, doc ->> '$.quantity' AS q FROM usage);
DROP TABLE usage;
";

pub struct SqlStore {
    sql: SqlStorage,
    retention: Retention,
    /// Set when creating the schema failed; every call then reports it.
    broken: Option<String>,
    meta: RefCell<HashMap<String, Option<String>>>,
    products: RefCell<Option<BTreeMap<String, Rc<Product>>>>,
    /// Set when an event is appended, so the object knows to wake its delivery alarm.
    appended_events: std::cell::Cell<bool>,
    /// Set when a statement failed (see `Store::take_failure`).
    failed: std::cell::Cell<bool>,
    /// Tests of the mock: which write of the current step fails, and the writes so far.
    fail_write: std::cell::Cell<Option<u32>>,
    writes: std::cell::Cell<u32>,
}

#[derive(Deserialize)]
struct Doc {
    doc: String,
}

#[derive(Deserialize)]
struct Seq {
    seq: i64,
}

#[derive(Deserialize)]
struct RowId {
    rowid: i64,
}

/// A `COUNT(*) AS n`.
#[derive(Deserialize)]
struct Count {
    n: i64,
}

impl Count {
    fn of(rows: &[Count]) -> usize {
        rows.first()
            .map_or(0, |c| usize::try_from(c.n).unwrap_or(0))
    }
}

#[derive(Deserialize)]
struct Due {
    due: Option<i64>,
}

#[derive(Deserialize)]
struct Value {
    value: String,
}

fn fail(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

fn text(s: &str) -> SqlStorageValue {
    SqlStorageValue::String(s.to_string())
}

fn opt_instant(at: Option<Instant>) -> SqlStorageValue {
    at.map(|at| SqlStorageValue::Integer(at.millis()))
        .unwrap_or(SqlStorageValue::Null)
}

fn opt_text(s: &Option<String>) -> SqlStorageValue {
    s.as_deref().map(text).unwrap_or(SqlStorageValue::Null)
}

fn count(n: usize) -> SqlStorageValue {
    SqlStorageValue::Integer(i64::try_from(n).unwrap_or(i64::MAX))
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

/// Brings state kept by an older schema to this one (a no-op once done).
fn migrate(sql: &SqlStorage) -> worker::Result<()> {
    let old_ledger = sql
        .exec(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'usage'",
            None,
        )?
        .to_array::<serde_json::Value>()?;
    if !old_ledger.is_empty() {
        sql.exec(LEDGER_FROM_0_1_0, None)?;
    }
    Ok(())
}

impl SqlStore {
    pub fn open(sql: SqlStorage, retention: Retention) -> SqlStore {
        let broken = sql
            .exec(SCHEMA, None)
            .and_then(|_| migrate(&sql))
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
            fail_write: std::cell::Cell::new(None),
            writes: std::cell::Cell::new(0),
        }
    }

    /// Tests of the mock: from now, the `n`-th write fails in SQLite (`None`: none does).
    pub fn fail_write(&self, n: Option<u32>) {
        self.fail_write.set(n);
        self.writes.set(0);
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

    /// Completes the journal entry of a call whose answer got its signature after the step:
    /// the signature in place of its placeholder, or, when none could be made, the error the
    /// call answered instead. The entry is one of the newest, since its step has just
    /// committed; the placeholder holds a random UUID, so it names one entry.
    pub fn fill_in_journal(
        &self,
        placeholder: &str,
        outcome: Result<String, String>,
    ) -> StoreResult<()> {
        const NEWEST: &str =
            "seq > (SELECT COALESCE(MAX(seq), 0) FROM journal) - 100 AND instr(doc, ?) > 0";
        match outcome {
            Ok(signature) => self.run(
                &format!("UPDATE journal SET doc = replace(doc, ?, ?) WHERE {NEWEST}"),
                vec![text(placeholder), text(&signature), text(placeholder)],
            ),
            Err(message) => self.run(
                &format!(
                    "UPDATE journal SET status = 500, error = 'InternalServiceErrorException', \
                     doc = json_set(json_remove(doc, '$.response', '$.recordsWritten'), '$.status', 500, \
                     '$.error', json_object('code', 'InternalServiceErrorException', 'message', ?)) WHERE {NEWEST}"
                ),
                vec![text(&message), text(placeholder)],
            ),
        }
    }

    /// Whether events were appended since the last call.
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
        fail(e)
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
        let cursor = if self.fail_write.get() == Some(write) {
            // A statement SQLite itself refuses, in place of this write.
            self.sql
                .exec("INSERT INTO injected_storage_fault VALUES (1)", None)
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
        Ok(())
    }

    fn product(&self, code: &str) -> StoreResult<Option<Rc<Product>>> {
        self.with_products(|all| all.get(code).cloned())
    }

    fn products(&self) -> StoreResult<Vec<Product>> {
        self.with_products(|all| all.values().map(|p| Product::clone(p)).collect())
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
        let rows: Vec<Doc> = self.rows(
            &format!("SELECT {LEDGER_DOC} AS doc FROM ledger WHERE hour = ? AND ledger_key = ?"),
            vec![SqlStorageValue::Integer(hour.millis()), text(ledger_key)],
        )?;
        rows.first().map(|r| parse(&r.doc)).transpose()
    }

    fn insert_usage(&mut self, e: &UsageEntry) -> StoreResult<()> {
        self.insert_usages(std::slice::from_ref(e))
    }

    fn usage_by_keys(&self, keys: &[(Instant, &str)]) -> StoreResult<Vec<UsageEntry>> {
        let mut found = Vec::new();
        for chunk in keys.chunks(MAX_BOUND_PARAMETERS / 2) {
            let marks = vec!["(?, ?)"; chunk.len()].join(", ");
            let rows: Vec<Doc> = self.rows(
                // A join, not `(hour, ledger_key) IN (VALUES …)`: SQLite answers that one by
                // scanning the table, and this one with one index search per key.
                &format!("SELECT {LEDGER_DOC} AS doc FROM (VALUES {marks}) AS k CROSS JOIN ledger ON ledger.hour = k.column1 AND ledger.ledger_key = k.column2"),
                chunk
                    .iter()
                    .flat_map(|(hour, key)| [SqlStorageValue::Integer(hour.millis()), text(key)])
                    .collect(),
            )?;
            for r in rows {
                found.push(parse(&r.doc)?);
            }
        }
        Ok(found)
    }

    /// Several rows per statement (as many as the bound-parameter limit allows), then one
    /// trim: three statements for a batch of 25 instead of fifty.
    fn insert_usages(&mut self, entries: &[UsageEntry]) -> StoreResult<()> {
        const COLUMNS: usize = 10;
        let mut newest = 0;
        for chunk in entries.chunks(MAX_BOUND_PARAMETERS / COLUMNS) {
            let mut bindings = Vec::with_capacity(chunk.len() * COLUMNS);
            for e in chunk {
                let doc = serde_json::to_string(&e.rest_doc()).map_err(fail)?;
                bindings.extend([
                    SqlStorageValue::Integer(e.hour.millis()),
                    text(&e.ledger_key),
                    text(&e.metering_record_id),
                    text(&e.product_code),
                    opt_text(&e.customer_identifier),
                    opt_text(&e.customer_aws_account_id),
                    opt_text(&e.license_arn),
                    text(&e.dimension),
                    // As text: a bound number reaches SQLite as a JavaScript double, exact
                    // only up to 2^53, and quantities in millionths go beyond.
                    SqlStorageValue::String(e.quantity.micros().to_string()),
                    SqlStorageValue::String(doc),
                ]);
            }
            let values =
                vec!["(?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS INTEGER), ?)"; chunk.len()].join(", ");
            let rows: Vec<Seq> = self.write_rows(
                &format!("INSERT INTO ledger (hour, ledger_key, id, product, customer_identifier, customer_account, license_arn, dimension, quantity_micros, doc) VALUES {values} RETURNING seq"),
                bindings,
            )?;
            newest = rows.iter().map(|r| r.seq).fold(newest, i64::max);
        }
        self.trim("ledger", newest, self.retention.usage_records)
    }

    fn query_usage(&self, q: &UsageQuery) -> StoreResult<Vec<UsageEntry>> {
        let mut sql = format!("SELECT {LEDGER_DOC} AS doc FROM ledger WHERE 1 = 1");
        let mut bindings = Vec::new();
        if let Some(p) = &q.product_code {
            sql.push_str(" AND product = ?");
            bindings.push(text(p));
        }
        if let Some(c) = &q.customer {
            sql.push_str(
                " AND (customer_identifier = ? OR customer_account = ? OR license_arn = ?)",
            );
            bindings.extend([text(c), text(c), text(c)]);
        }
        if let Some(d) = &q.dimension {
            sql.push_str(" AND dimension = ?");
            bindings.push(text(d));
        }
        if let Some(from) = q.from {
            sql.push_str(" AND hour >= ?");
            bindings.push(SqlStorageValue::Integer(from.millis()));
        }
        if let Some(to) = q.to {
            sql.push_str(" AND hour < ?");
            bindings.push(SqlStorageValue::Integer(to.millis()));
        }
        sql.push_str(if q.newest_first {
            " ORDER BY seq DESC LIMIT ?"
        } else {
            " ORDER BY seq LIMIT ?"
        });
        bindings.push(SqlStorageValue::Integer(q.limit as i64));
        let rows: Vec<Doc> = self.rows(&sql, bindings)?;
        rows.iter().map(|r| parse(&r.doc)).collect()
    }

    /// Sums in SQL: whole units and millionths apart, so that no sum can overflow SQLite's
    /// 64-bit integers (a month of the largest quantities would), read back as text.
    fn usage_totals(
        &self,
        from: Instant,
        to: Instant,
        product_code: Option<&str>,
    ) -> StoreResult<Vec<UsageTotal>> {
        #[derive(Deserialize)]
        struct Row {
            product: String,
            customer_identifier: Option<String>,
            customer_account: Option<String>,
            license_arn: Option<String>,
            dimension: String,
            units: String,
            micros: String,
            records: i64,
        }
        let mut bindings = vec![
            SqlStorageValue::Integer(from.millis()),
            SqlStorageValue::Integer(to.millis()),
        ];
        let product_filter = match product_code {
            Some(p) => {
                bindings.push(text(p));
                " AND product = ?"
            }
            None => "",
        };
        const GROUP: &str =
            "product, customer_identifier, customer_account, license_arn, dimension";
        let rows: Vec<Row> = self.rows(
            &format!(
                "SELECT {GROUP}, CAST(SUM(quantity_micros / 1000000) AS TEXT) AS units, CAST(SUM(quantity_micros % 1000000) AS TEXT) AS micros, COUNT(*) AS records \
                 FROM ledger WHERE hour >= ? AND hour < ?{product_filter} GROUP BY {GROUP} ORDER BY {GROUP}"
            ),
            bindings,
        )?;
        rows.into_iter()
            .map(|r| {
                // As text: a number comes back through JavaScript as a double, exact only to
                // 2^53, which a month of large quantities passes.
                let units: u128 = r.units.parse().map_err(fail)?;
                let micros: u128 = r.micros.parse().map_err(fail)?;
                Ok(UsageTotal {
                    product_code: r.product,
                    customer_identifier: r.customer_identifier,
                    customer_aws_account_id: r.customer_account,
                    license_arn: r.license_arn,
                    dimension: r.dimension,
                    micros: units * 1_000_000 + micros,
                    records: usize::try_from(r.records).map_err(fail)?,
                })
            })
            .collect()
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
        let rows: Vec<Seq> = self.rows(
            "SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM events",
            vec![],
        )?;
        let seq = rows.first().map_or(1, |r| r.seq) as u64;
        let event = EventRecord {
            seq,
            ..event.clone()
        };
        let doc = serde_json::to_string(&event).map_err(fail)?;
        self.run(
            "INSERT INTO events (seq, next_attempt_at, doc) VALUES (?, ?, ?)",
            vec![
                SqlStorageValue::Integer(seq as i64),
                opt_instant(event.next_attempt_at()),
                text(&doc),
            ],
        )?;
        let newest_dropped = (seq as i64).saturating_sub(self.retention.events as i64);
        self.run(
            "DELETE FROM events WHERE seq <= ?",
            vec![SqlStorageValue::Integer(newest_dropped)],
        )?;
        self.appended_events.set(true);
        Ok(seq)
    }

    fn update_event(&mut self, event: &EventRecord) -> StoreResult<()> {
        let exists: Vec<Seq> = self.rows(
            "SELECT seq FROM events WHERE seq = ?",
            vec![SqlStorageValue::Integer(event.seq as i64)],
        )?;
        if exists.is_empty() {
            return Err(StoreError(format!("no event {}", event.seq)));
        }
        let doc = serde_json::to_string(event).map_err(fail)?;
        self.run(
            "UPDATE events SET next_attempt_at = ?, doc = ? WHERE seq = ?",
            vec![
                opt_instant(event.next_attempt_at()),
                text(&doc),
                SqlStorageValue::Integer(event.seq as i64),
            ],
        )
    }

    fn events(&self, after: u64, limit: usize) -> StoreResult<Vec<EventRecord>> {
        let rows: Vec<Doc> = self.rows(
            "SELECT doc FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            vec![
                SqlStorageValue::Integer(after.min(i64::MAX as u64) as i64),
                SqlStorageValue::Integer(limit as i64),
            ],
        )?;
        rows.iter().map(|r| parse(&r.doc)).collect()
    }

    fn events_due(&self, now: Instant, limit: usize) -> StoreResult<Vec<EventRecord>> {
        let rows: Vec<Doc> = self.rows(
            "SELECT doc FROM events WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= ? ORDER BY seq LIMIT ?",
            vec![
                SqlStorageValue::Integer(now.millis()),
                SqlStorageValue::Integer(limit as i64),
            ],
        )?;
        rows.iter().map(|r| parse(&r.doc)).collect()
    }

    fn next_delivery_at(&self) -> StoreResult<Option<Instant>> {
        let rows: Vec<Due> = self.rows("SELECT MIN(next_attempt_at) AS due FROM events", vec![])?;
        Ok(rows.first().and_then(|r| r.due).map(Instant))
    }

    fn registration(&self, task_key: &str) -> StoreResult<Option<Registration>> {
        let rows: Vec<Doc> = self.rows(
            "SELECT doc FROM registrations WHERE task_key = ?",
            vec![text(task_key)],
        )?;
        rows.first().map(|r| parse(&r.doc)).transpose()
    }

    fn insert_registration(&mut self, r: &Registration) -> StoreResult<()> {
        let doc = serde_json::to_string(r).map_err(fail)?;
        self.run(
            "INSERT INTO registrations (task_key, product, doc) VALUES (?, ?, ?)",
            vec![text(&r.task_key), text(&r.product_code), text(&doc)],
        )?;
        self.run(
            "DELETE FROM registrations WHERE seq <= (SELECT MAX(seq) FROM registrations) - ?",
            vec![count(self.retention.registrations)],
        )
    }

    fn registrations(
        &self,
        product_code: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Registration>> {
        let limit = SqlStorageValue::Integer(limit as i64);
        let rows: Vec<Doc> = match product_code {
            Some(p) => self.rows(
                "SELECT doc FROM registrations WHERE product = ? ORDER BY seq LIMIT ?",
                vec![text(p), limit],
            )?,
            None => self.rows(
                "SELECT doc FROM registrations ORDER BY seq LIMIT ?",
                vec![limit],
            )?,
        };
        rows.iter().map(|r| parse(&r.doc)).collect()
    }

    fn append_journal(&mut self, entry: &JournalEntry) -> StoreResult<u64> {
        let doc = serde_json::to_string(entry).map_err(fail)?;
        let customers = serde_json::to_string(&entry.customers).map_err(fail)?;
        let rows: Vec<Seq> = self.write_rows(
            "INSERT INTO journal (received_at, operation, status, error, product, customers, doc) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING seq",
            vec![
                SqlStorageValue::Integer(entry.received_at.millis()),
                opt_text(&entry.operation),
                SqlStorageValue::Integer(i64::from(entry.status)),
                opt_text(&entry.error.as_ref().map(|e| e.code.clone())),
                opt_text(&entry.product_code),
                SqlStorageValue::String(customers),
                SqlStorageValue::String(doc),
            ],
        )?;
        let seq = rows.first().map_or(0, |r| r.seq);
        self.trim("journal", seq, self.retention.journal)?;
        u64::try_from(seq).map_err(fail)
    }

    fn journal(&self, q: &JournalQuery) -> StoreResult<JournalPage> {
        let mut filter = String::from(" WHERE 1 = 1");
        let mut bindings = Vec::new();
        if let Some(o) = &q.operation {
            filter.push_str(" AND operation = ?");
            bindings.push(text(o));
        }
        match q.succeeded {
            Some(true) => filter.push_str(" AND status BETWEEN 200 AND 299"),
            Some(false) => filter.push_str(" AND status NOT BETWEEN 200 AND 299"),
            None => {}
        }
        if let Some(s) = q.status {
            filter.push_str(" AND status = ?");
            bindings.push(SqlStorageValue::Integer(i64::from(s)));
        }
        if let Some(e) = &q.error {
            filter.push_str(" AND error = ?");
            bindings.push(text(e));
        }
        if let Some(p) = &q.product_code {
            filter.push_str(" AND product = ?");
            bindings.push(text(p));
        }
        if let Some(c) = &q.customer {
            filter.push_str(
                " AND EXISTS (SELECT 1 FROM json_each(journal.customers) WHERE value = ?)",
            );
            bindings.push(text(c));
        }
        if let Some(from) = q.from {
            filter.push_str(" AND received_at >= ?");
            bindings.push(SqlStorageValue::Integer(from.millis()));
        }
        if let Some(to) = q.to {
            filter.push_str(" AND received_at < ?");
            bindings.push(SqlStorageValue::Integer(to.millis()));
        }
        let counted: Vec<Count> = self.rows(
            &format!("SELECT COUNT(*) AS n FROM journal{filter}"),
            bindings.clone(),
        )?;
        if let Some(before) = q.before {
            filter.push_str(" AND seq < ?");
            bindings.push(SqlStorageValue::Integer(
                i64::try_from(before).unwrap_or(i64::MAX),
            ));
        }
        bindings.push(count(q.limit));
        #[derive(Deserialize)]
        struct Row {
            seq: i64,
            doc: String,
        }
        let rows: Vec<Row> = self.rows(
            &format!("SELECT seq, doc FROM journal{filter} ORDER BY seq DESC LIMIT ?"),
            bindings,
        )?;
        let mut entries = Vec::with_capacity(rows.len());
        for row in rows {
            // The document was written before the row had its number.
            let entry: JournalEntry = parse(&row.doc)?;
            entries.push(JournalEntry {
                seq: u64::try_from(row.seq).map_err(fail)?,
                ..entry
            });
        }
        Ok(JournalPage {
            total: Count::of(&counted),
            entries,
        })
    }

    fn clear_journal(&mut self) -> StoreResult<usize> {
        let counted: Vec<Count> = self.rows("SELECT COUNT(*) AS n FROM journal", vec![])?;
        self.run("DELETE FROM journal", vec![])?;
        Ok(Count::of(&counted))
    }

    fn take_failure(&self) -> bool {
        self.failed.replace(false)
    }

    fn registration_token(&self, key: &str) -> StoreResult<Option<String>> {
        #[derive(Deserialize)]
        struct Record {
            record: String,
        }
        let rows: Vec<Record> = self.rows(
            "SELECT record FROM registration_tokens WHERE key = ?",
            vec![text(key)],
        )?;
        Ok(rows.into_iter().next().map(|r| r.record))
    }

    fn put_registration_token(
        &mut self,
        key: &str,
        record: &str,
        keep_until: Instant,
        now: Instant,
    ) -> StoreResult<()> {
        self.run(
            "DELETE FROM registration_tokens WHERE keep_until < ?",
            vec![SqlStorageValue::Integer(now.millis())],
        )?;
        self.run(
            "INSERT INTO registration_tokens (key, record, keep_until) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET record = excluded.record, keep_until = excluded.keep_until",
            vec![
                text(key),
                text(record),
                SqlStorageValue::Integer(keep_until.millis()),
            ],
        )?;
        self.run(
            "DELETE FROM registration_tokens WHERE rowid <= (SELECT MAX(rowid) FROM registration_tokens) - ?",
            vec![SqlStorageValue::Integer(MAX_REGISTRATION_TOKENS as i64)],
        )
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
