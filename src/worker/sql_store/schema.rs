//! The database's schema, and the migration of state an older schema kept.

use worker::SqlStorage;

pub(super) const SCHEMA: &str = "
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

/// Brings state kept by an older schema to this one (a no-op once done).
pub(super) fn migrate(sql: &SqlStorage) -> worker::Result<()> {
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
