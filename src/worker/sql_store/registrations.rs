//! RegisterUsage's registrations (one per task) and the registration tokens sign-ups mint.

use serde::Deserialize;
use worker::SqlStorageValue;

use super::{count, fail, parse, text, Doc, SqlStore};
use crate::domain::time::Instant;
use crate::store::{Registration, StoreResult, MAX_REGISTRATION_TOKENS};

impl SqlStore {
    pub(super) fn registration_row(&self, task_key: &str) -> StoreResult<Option<Registration>> {
        let rows: Vec<Doc> = self.rows(
            "SELECT doc FROM registrations WHERE task_key = ?",
            vec![text(task_key)],
        )?;
        rows.first().map(|r| parse(&r.doc)).transpose()
    }

    pub(super) fn insert_registration_row(&self, r: &Registration) -> StoreResult<()> {
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

    pub(super) fn registration_rows(
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

    pub(super) fn token_record(&self, key: &str) -> StoreResult<Option<String>> {
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

    pub(super) fn put_token_record(
        &self,
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
}
