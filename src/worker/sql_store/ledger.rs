//! The usage ledger's rows: one per record, keyed by (hour, ledger key), its document slimmed
//! to what the columns do not hold.

use serde::Deserialize;
use worker::SqlStorageValue;

use super::{fail, opt_text, parse, text, Doc, Seq, SqlStore, MAX_BOUND_PARAMETERS};
use crate::domain::bill::UsageTotal;
use crate::domain::time::Instant;
use crate::store::{StoreResult, UsageEntry, UsageQuery};

/// A ledger row's whole entry: its document (`UsageEntry::rest_doc`) with the fields kept as
/// columns merged back in (a NULL column is an absent field). Rows written before the
/// document was slimmed hold every field already; the merge sets them to the same values.
const LEDGER_DOC: &str = "json_patch(doc, json_object('meteringRecordId', id, 'ledgerKey', ledger_key, 'productCode', product, 'customerIdentifier', customer_identifier, 'customerAWSAccountId', customer_account, 'licenseArn', license_arn, 'dimension', dimension, 'hour', hour))";

impl SqlStore {
    pub(super) fn ledger_row(
        &self,
        hour: Instant,
        ledger_key: &str,
    ) -> StoreResult<Option<UsageEntry>> {
        let rows: Vec<Doc> = self.rows(
            &format!("SELECT {LEDGER_DOC} AS doc FROM ledger WHERE hour = ? AND ledger_key = ?"),
            vec![SqlStorageValue::Integer(hour.millis()), text(ledger_key)],
        )?;
        rows.first().map(|r| parse(&r.doc)).transpose()
    }

    pub(super) fn ledger_rows(&self, keys: &[(Instant, &str)]) -> StoreResult<Vec<UsageEntry>> {
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
    pub(super) fn insert_ledger_rows(&self, entries: &[UsageEntry]) -> StoreResult<()> {
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

    pub(super) fn query_ledger(&self, q: &UsageQuery) -> StoreResult<Vec<UsageEntry>> {
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
    pub(super) fn ledger_totals(
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
}
