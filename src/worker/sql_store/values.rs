//! What statements bind and what their rows read: SQLite values from Rust's, and the small
//! row shapes the queries select.

use serde::Deserialize;
use worker::SqlStorageValue;

use crate::domain::time::Instant;
use crate::store::journal::clipped;
use crate::store::StoreError;

#[derive(Deserialize)]
pub(super) struct Doc {
    pub(super) doc: String,
}

#[derive(Deserialize)]
pub(super) struct Seq {
    pub(super) seq: i64,
}

#[derive(Deserialize)]
pub(super) struct RowId {
    pub(super) rowid: i64,
}

/// A `COUNT(*) AS n`.
#[derive(Deserialize)]
pub(super) struct Count {
    pub(super) n: i64,
}

impl Count {
    pub(super) fn of(rows: &[Count]) -> usize {
        rows.first()
            .map_or(0, |c| usize::try_from(c.n).unwrap_or(0))
    }
}

#[derive(Deserialize)]
pub(super) struct Due {
    pub(super) due: Option<i64>,
}

#[derive(Deserialize)]
pub(super) struct Value {
    pub(super) value: String,
}

pub(super) fn fail(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

/// SQLite's result codes that the same statement meets again when the request is retried: a
/// row too big, the database full, a constraint broken, a value of the wrong kind, a corrupt
/// database. Any other failure (busy, I/O, the runtime's own) may pass on a retry.
const PERMANENT_CODES: [&str; 7] = [
    "SQLITE_TOOBIG",
    "SQLITE_FULL",
    "SQLITE_CONSTRAINT",
    "SQLITE_MISMATCH",
    "SQLITE_RANGE",
    "SQLITE_CORRUPT",
    "SQLITE_NOTADB",
];

/// A failed statement's cause when retrying cannot help: its SQLite result code and message.
pub(super) fn permanent_cause(message: &str) -> Option<String> {
    let code = PERMANENT_CODES.iter().find(|c| message.contains(*c))?;
    Some(format!("{code}: {}", clipped(message, 200)))
}

pub(super) fn text(s: &str) -> SqlStorageValue {
    SqlStorageValue::String(s.to_string())
}

pub(super) fn opt_instant(at: Option<Instant>) -> SqlStorageValue {
    at.map(|at| SqlStorageValue::Integer(at.millis()))
        .unwrap_or(SqlStorageValue::Null)
}

pub(super) fn opt_text(s: &Option<String>) -> SqlStorageValue {
    s.as_deref().map(text).unwrap_or(SqlStorageValue::Null)
}

pub(super) fn count(n: usize) -> SqlStorageValue {
    SqlStorageValue::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}
