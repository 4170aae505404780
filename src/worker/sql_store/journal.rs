//! The request journal's rows: an entry per AWS call, with the columns its filters read.

use serde::Deserialize;
use worker::SqlStorageValue;

use super::{count, fail, opt_text, parse, text, Count, Seq, SqlStore};
use crate::store::journal::{JournalEntry, JournalPage, JournalQuery};
use crate::store::StoreResult;

impl SqlStore {
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

    pub(super) fn append_journal_row(&self, entry: &JournalEntry) -> StoreResult<u64> {
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

    pub(super) fn journal_page(&self, q: &JournalQuery) -> StoreResult<JournalPage> {
        let (mut filter, mut bindings) = journal_filter(q);
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

    pub(super) fn clear_journal_rows(&self) -> StoreResult<usize> {
        let counted: Vec<Count> = self.rows("SELECT COUNT(*) AS n FROM journal", vec![])?;
        self.run("DELETE FROM journal", vec![])?;
        Ok(Count::of(&counted))
    }
}

/// The `WHERE` clause of a journal query (all but its page), and what it binds.
fn journal_filter(q: &JournalQuery) -> (String, Vec<SqlStorageValue>) {
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
        filter.push_str(" AND EXISTS (SELECT 1 FROM json_each(journal.customers) WHERE value = ?)");
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
    (filter, bindings)
}
