//! `/_mock/requests`: the namespace's request journal, newest first, filtered and paged, and
//! emptied. A test asks it what its code called ("exactly 3 BatchMeterUsage calls for
//! customer X since T" is `?operation=BatchMeterUsage&customer=X&from=T`, then `total`).

use serde_json::{json, Value};

use super::{bad, limit_param, ok, parse_instant, store_err, Answer};
use crate::namespace::Namespace;
use crate::protocol::http::HttpRequest;
use crate::store::journal::{JournalEntry, JournalQuery};
use crate::store::Store;

/// Entries one page holds at most (an entry is up to about 40 KiB) and by default.
const MAX_PAGE: usize = 200;
const DEFAULT_PAGE: usize = 100;

const FILTERS: &str =
    "operation, status (a code, ok or error), error, product, customer, from, to, limit, before";

pub fn list<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, req: &HttpRequest) -> Answer {
    let mut q = JournalQuery {
        limit: DEFAULT_PAGE,
        ..Default::default()
    };
    for (key, value) in req.query_pairs() {
        match key.as_str() {
            "operation" => q.operation = Some(value),
            "status" => match value.as_str() {
                "ok" => q.succeeded = Some(true),
                "error" => q.succeeded = Some(false),
                code => {
                    q.status = Some(code.parse().map_err(|_| {
                        bad(format!(
                            "status must be an HTTP status code, ok or error, not '{code}'"
                        ))
                    })?)
                }
            },
            "error" => q.error = Some(value),
            "product" | "productCode" => q.product_code = Some(value),
            "customer" => q.customer = Some(value),
            "from" => q.from = Some(parse_instant("from", &value)?),
            "to" => q.to = Some(parse_instant("to", &value)?),
            "limit" => q.limit = limit_param(&value, MAX_PAGE)?,
            "before" => {
                q.before = Some(value.parse().map_err(|_| {
                    bad(format!(
                        "before must be an entry's seq (a nextCursor), not '{value}'"
                    ))
                })?)
            }
            other => {
                return Err(bad(format!(
                    "unknown filter '{other}' (filters: {FILTERS})"
                )))
            }
        }
    }
    let page = ns.store.journal(&q).map_err(store_err)?;
    // A full page may have more behind it: the last entry's number is the next cursor.
    let next_cursor = (page.entries.len() == q.limit)
        .then(|| page.entries.last().map(|e| e.seq.to_string()))
        .flatten();
    let requests: Vec<Value> = page.entries.iter().map(entry_view).collect();
    ok(json!({
        "total": page.total,
        "count": requests.len(),
        "requests": requests,
        "nextCursor": next_cursor,
    }))
}

pub fn clear<S: Store + ?Sized>(ns: &mut Namespace<'_, S>) -> Answer {
    let deleted = ns.store.clear_journal().map_err(store_err)?;
    ok(json!({ "deleted": deleted }))
}

/// An entry as the control API shows it: instants as RFC 3339 text.
fn entry_view(e: &JournalEntry) -> Value {
    let mut v = json!(e);
    if let Some(obj) = v.as_object_mut() {
        obj.insert("receivedAt".into(), json!(e.received_at.to_rfc3339()));
        if let Some(at) = e.namespace_time {
            obj.insert("namespaceTime".into(), json!(at.to_rfc3339()));
        }
    }
    v
}
