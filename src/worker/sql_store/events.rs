//! The events table: sign-up and lifecycle notifications, with when each is next due for
//! delivery to the product's webhooks.

use worker::SqlStorageValue;

use super::values::Due;
use super::{fail, opt_instant, parse, text, Doc, Seq, SqlStore};
use crate::domain::notification::EventRecord;
use crate::domain::time::Instant;
use crate::store::{StoreError, StoreResult};

impl SqlStore {
    pub(super) fn insert_event(&self, event: &EventRecord) -> StoreResult<u64> {
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

    pub(super) fn rewrite_event(&self, event: &EventRecord) -> StoreResult<()> {
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

    pub(super) fn event_rows(&self, after: u64, limit: usize) -> StoreResult<Vec<EventRecord>> {
        let rows: Vec<Doc> = self.rows(
            "SELECT doc FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            vec![
                SqlStorageValue::Integer(after.min(i64::MAX as u64) as i64),
                SqlStorageValue::Integer(limit as i64),
            ],
        )?;
        rows.iter().map(|r| parse(&r.doc)).collect()
    }

    pub(super) fn due_event_rows(
        &self,
        now: Instant,
        limit: usize,
    ) -> StoreResult<Vec<EventRecord>> {
        let rows: Vec<Doc> = self.rows(
            "SELECT doc FROM events WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= ? ORDER BY seq LIMIT ?",
            vec![
                SqlStorageValue::Integer(now.millis()),
                SqlStorageValue::Integer(limit as i64),
            ],
        )?;
        rows.iter().map(|r| parse(&r.doc)).collect()
    }

    pub(super) fn earliest_due(&self) -> StoreResult<Option<Instant>> {
        let rows: Vec<Due> = self.rows("SELECT MIN(next_attempt_at) AS due FROM events", vec![])?;
        Ok(rows.first().and_then(|r| r.due).map(Instant))
    }
}
