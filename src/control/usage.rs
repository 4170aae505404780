//! `GET /_mock/usage`: the usage ledger, filtered.

use serde_json::{json, Value};

use super::{bad, limit_param, ok, parse_instant, store_err, Answer};
use crate::namespace::Namespace;
use crate::protocol::http::HttpRequest;
use crate::store::{Store, UsageEntry, UsageQuery};

const MAX_USAGE_LIMIT: usize = 10_000;

pub(super) fn usage<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, req: &HttpRequest) -> Answer {
    let mut q = UsageQuery {
        limit: 1000,
        ..Default::default()
    };
    for (key, value) in req.query_pairs() {
        match key.as_str() {
            "product" | "productCode" => q.product_code = Some(value),
            "customer" => q.customer = Some(value),
            "dimension" => q.dimension = Some(value),
            "from" => q.from = Some(parse_instant("from", &value)?),
            "to" => q.to = Some(parse_instant("to", &value)?),
            "limit" => q.limit = limit_param(&value, MAX_USAGE_LIMIT)?,
            "order" => {
                q.newest_first = match value.as_str() {
                    "oldest" => false,
                    "newest" => true,
                    _ => return Err(bad(format!("order is oldest or newest, not '{value}'"))),
                }
            }
            other => {
                return Err(bad(format!(
                "unknown filter '{other}' (filters: product, customer, dimension, from, to, limit, order)"
            )))
            }
        }
    }
    let records: Vec<Value> = ns
        .store
        .query_usage(&q)
        .map_err(store_err)?
        .iter()
        .map(usage_view)
        .collect();
    ok(json!({ "count": records.len(), "records": records }))
}

/// A ledger entry as the control API shows it: instants as RFC 3339 text.
pub(super) fn usage_view(e: &UsageEntry) -> Value {
    let mut v = json!(e);
    if let Some(obj) = v.as_object_mut() {
        obj.remove("ledgerKey");
        for (key, at) in [
            ("hour", e.hour),
            ("timestamp", e.timestamp),
            ("receivedAt", e.received_at),
        ] {
            obj.insert(key.into(), json!(at.to_rfc3339()));
        }
    }
    v
}
