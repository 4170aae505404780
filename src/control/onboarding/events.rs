//! The notification log in the control API (`GET /_mock/events`), with each delivery's state.
//!
//! Layer: control (onboarding).

use serde_json::{json, Value};

use super::super::{bad, limit_param, ok, store_err, Answer};
use crate::domain::notification::EventRecord;
use crate::namespace::Namespace;
use crate::protocol::http::HttpRequest;
use crate::store::Store;

const MAX_EVENTS_LIMIT: usize = 1000;

/// An event as the control API shows it: instants as RFC 3339 text.
pub fn event_view(e: &EventRecord) -> Value {
    let mut v = json!(e);
    v["time"] = json!(e.time.to_rfc3339());
    if let Some(deliveries) = v["deliveries"].as_array_mut() {
        for (view, d) in deliveries.iter_mut().zip(&e.deliveries) {
            if let Some(at) = d.next_attempt_at {
                view["nextAttemptAt"] = json!(at.to_rfc3339());
            }
        }
    }
    v
}

/// `GET /_mock/events?after=&limit=&productCode=&action=`
pub fn events<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, req: &HttpRequest) -> Answer {
    let (mut after, mut limit) = (0u64, 100usize);
    let (mut product, mut action) = (None, None);
    for (key, value) in req.query_pairs() {
        match key.as_str() {
            "after" => {
                after = value
                    .parse()
                    .map_err(|_| bad("after must be an event seq (a number)"))?
            }
            "limit" => limit = limit_param(&value, MAX_EVENTS_LIMIT)?,
            "productCode" | "product" => product = Some(value),
            "action" => action = Some(value),
            other => {
                return Err(bad(format!(
                    "unknown filter '{other}' (filters: after, limit, productCode, action)"
                )))
            }
        }
    }
    let mut listed = Vec::new();
    let mut cursor = after;
    while listed.len() < limit {
        let page = ns
            .store
            .events(cursor, MAX_EVENTS_LIMIT)
            .map_err(store_err)?;
        let Some(last) = page.last() else { break };
        cursor = last.seq;
        listed.extend(
            page.iter()
                .filter(|e| product.as_ref().is_none_or(|p| *p == e.product_code))
                .filter(|e| action.as_ref().is_none_or(|a| *a == e.action))
                .map(event_view),
        );
    }
    listed.truncate(limit);
    ok(json!({ "count": listed.len(), "events": listed }))
}
