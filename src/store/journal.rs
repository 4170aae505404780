//! The request journal: every AWS call a namespace answered, failures included, as
//! `/_mock/requests` lists it. Entries are bounded twice: a store keeps the newest
//! `Retention::journal` of them, and each keeps at most `MAX_KEPT_BODY_BYTES` of its request
//! and of its response.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::time::Instant;

/// How much of a request's or a response's JSON one entry keeps; a larger one is kept as
/// the start of its text (a 25-record batch is about 3 KiB asked and 5 KiB answered).
pub const MAX_KEPT_BODY_BYTES: usize = 16 * 1024;

/// Who made the call, as its signature names it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalCaller {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// The calling identity: the 12-digit account, or the access key id of a wildcard caller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The credential session (a digest of its security token), when the call had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

/// An error answer: the AWS error name and its message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalError {
    pub code: String,
    pub message: String,
}

/// One AWS call of the namespace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalEntry {
    /// Numbered by the store, from 1, increasing; the cursor of `/_mock/requests`.
    #[serde(default)]
    pub seq: u64,
    pub request_id: String,
    /// When the call arrived (host time).
    pub received_at: Instant,
    /// The namespace's clock at that moment (what its time windows used); `None` when the
    /// call was refused before the clock was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_time: Option<Instant>,
    /// `awsJson1_1` or `rpcv2Cbor`.
    pub protocol: String,
    /// The operation's name, when the request named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    pub caller: JournalCaller,
    /// Whether the call's SigV4 signature was verified (namespaces that check signatures).
    pub signature_verified: bool,
    /// The request's `ProductCode`, for filtering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_code: Option<String>,
    /// Every customer the request names (identifiers, accounts, license ARNs), for filtering.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub customers: Vec<String>,
    /// The request's input as JSON (CBOR requests too); `None` when it could not be read or
    /// is not kept (a locked deployment keeps no body of a call whose signature failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Value>,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<JournalError>,
    /// The successful answer's output as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Value>,
    /// The ledger records the call wrote (new `MeteringRecordId`s; repeats write none): always
    /// listed, `[]` when none, so a test can read it without a guard.
    #[serde(default)]
    pub records_written: Vec<String>,
}

/// Filters of `/_mock/requests`; every one is optional. Entries come newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JournalQuery {
    pub operation: Option<String>,
    /// `Some(true)`: only successes (2xx); `Some(false)`: only failures.
    pub succeeded: Option<bool>,
    pub status: Option<u16>,
    /// An error name (`InvalidProductCodeException`, …).
    pub error: Option<String>,
    pub product_code: Option<String>,
    /// Matches any customer the request named.
    pub customer: Option<String>,
    /// Arrived at or after (host time).
    pub from: Option<Instant>,
    /// Arrived before.
    pub to: Option<Instant>,
    /// Only entries numbered below this (the cursor of the next page).
    pub before: Option<u64>,
    pub limit: usize,
}

/// A page of the journal: its entries and how many match the filters in all.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JournalPage {
    pub entries: Vec<JournalEntry>,
    /// Matching entries whatever the cursor and the limit.
    pub total: usize,
}

impl JournalQuery {
    /// Whether the entry passes every filter but the cursor.
    pub fn matches(&self, e: &JournalEntry) -> bool {
        self.operation
            .as_deref()
            .is_none_or(|o| e.operation.as_deref() == Some(o))
            && self
                .succeeded
                .is_none_or(|ok| ok == (200..300).contains(&e.status))
            && self.status.is_none_or(|s| s == e.status)
            && self
                .error
                .as_deref()
                .is_none_or(|code| e.error.as_ref().is_some_and(|x| x.code == code))
            && self
                .product_code
                .as_deref()
                .is_none_or(|p| e.product_code.as_deref() == Some(p))
            && self
                .customer
                .as_deref()
                .is_none_or(|c| e.customers.iter().any(|x| x == c))
            && self.from.is_none_or(|f| e.received_at >= f)
            && self.to.is_none_or(|t| e.received_at < t)
    }
}

/// A body as the journal keeps it: whole up to `MAX_KEPT_BODY_BYTES` of JSON text, else
/// `{"truncated": true, "bytes": <size>, "start": "<the first bytes of its text>"}`.
/// `json_bound` is a bound of its JSON text's size, if known. A body within the limit by
/// that bound or `json_len_bound` is kept without writing it out to measure it.
pub fn kept_body(body: Value, json_bound: Option<usize>) -> Value {
    if json_bound.is_some_and(|n| n <= MAX_KEPT_BODY_BYTES)
        || json_len_bound(&body) <= MAX_KEPT_BODY_BYTES
    {
        return body;
    }
    let text = body.to_string();
    if text.len() <= MAX_KEPT_BODY_BYTES {
        return body;
    }
    serde_json::json!({ "truncated": true, "bytes": text.len(), "start": clipped(&text, MAX_KEPT_BODY_BYTES) })
}

/// At least the length of `value`'s JSON text as `to_string` writes it, found without writing
/// it (every call's answer is measured, and writing it out cost a tenth of a batch's time):
/// strings and structure exactly, each number as its longest (24 bytes covers an `f64`).
fn json_len_bound(value: &Value) -> usize {
    fn string(s: &str) -> usize {
        let escaped: usize = s
            .bytes()
            .map(|b| match b {
                b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
                0..=0x1f => 6,
                _ => 1,
            })
            .sum();
        escaped + 2
    }
    match value {
        Value::Null | Value::Bool(true) => 4,
        Value::Bool(false) => 5,
        Value::Number(_) => 24,
        Value::String(s) => string(s),
        Value::Array(items) => {
            2 + items.len().saturating_sub(1) + items.iter().map(json_len_bound).sum::<usize>()
        }
        Value::Object(members) => {
            2 + (2 * members.len()).saturating_sub(1)
                + members
                    .iter()
                    .map(|(k, v)| string(k) + json_len_bound(v))
                    .sum::<usize>()
        }
    }
}

/// At most `max` bytes of `text`, cut on a character.
pub fn clipped(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Customer names an entry keeps at most (a valid batch names at most 25 customers, each
/// with up to three names), and the longest name it keeps.
const MAX_CUSTOMERS: usize = 75;
const MAX_CUSTOMER_BYTES: usize = 256;

/// The customers a request names: `CustomerIdentifier`, `CustomerAWSAccountId` and
/// `LicenseArn` at its top level or in its `UsageRecords`, in order, each once; at most
/// `MAX_CUSTOMERS`, each at most `MAX_CUSTOMER_BYTES` (longer ones are not names of a
/// customer the mock could know, so they are left out).
pub fn customers_named(input: &serde_json::Map<String, Value>) -> Vec<String> {
    const FIELDS: [&str; 3] = ["CustomerIdentifier", "CustomerAWSAccountId", "LicenseArn"];
    let mut found: Vec<String> = Vec::new();
    let mut take = |object: &serde_json::Map<String, Value>| {
        for field in FIELDS {
            if let Some(Value::String(s)) = object.get(field) {
                let fits = found.len() < MAX_CUSTOMERS && s.len() <= MAX_CUSTOMER_BYTES;
                if fits && !s.is_empty() && !found.contains(s) {
                    found.push(s.clone());
                }
            }
        }
    };
    take(input);
    if let Some(Value::Array(records)) = input.get("UsageRecords") {
        for record in records.iter().filter_map(Value::as_object) {
            take(record);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bodies_are_kept_whole_up_to_the_bound_and_cut_on_a_character() {
        let small = json!({"a": "b"});
        assert_eq!(kept_body(small.clone(), None), small);
        let large = json!({ "x": "é".repeat(MAX_KEPT_BODY_BYTES) });
        assert_eq!(
            kept_body(large.clone(), Some(100)),
            large,
            "small on the wire"
        );
        let kept = kept_body(large.clone(), None);
        assert_eq!(kept["truncated"], true);
        assert_eq!(kept["bytes"], large.to_string().len());
        let start = kept["start"].as_str().unwrap_or_default();
        assert!(start.len() <= MAX_KEPT_BODY_BYTES && start.len() > MAX_KEPT_BODY_BYTES - 2);
    }

    #[test]
    fn the_json_length_bound_is_never_short_and_exact_but_for_numbers() {
        let exact = [
            json!(null),
            json!(true),
            json!(false),
            json!(""),
            json!("a\"b\\c\nd\u{1}é€😀"),
            json!([]),
            json!({}),
            json!([[], {}, "x", null]),
            json!({"k\"": {"n": [true, "v"]}, "": ""}),
        ];
        for v in exact {
            assert_eq!(json_len_bound(&v), v.to_string().len(), "{v}");
        }
        for n in [
            json!(0),
            json!(-9_223_372_036_854_775_808_i64),
            json!(u64::MAX),
            json!(-1.797_693_134_862_315_7e308),
            json!(5e-324),
        ] {
            assert!(json_len_bound(&n) >= n.to_string().len(), "{n}");
        }
    }

    #[test]
    fn customers_are_named_once_from_the_top_and_the_records() {
        let input = json!({
            "CustomerIdentifier": "c1",
            "UsageRecords": [
                {"CustomerIdentifier": "c2"},
                {"CustomerIdentifier": "c1", "LicenseArn": "arn:l"},
                {"CustomerAWSAccountId": "111122223333", "CustomerIdentifier": ""},
                "not a record"
            ]
        });
        let Value::Object(input) = input else {
            unreachable!()
        };
        assert_eq!(
            customers_named(&input),
            ["c1", "c2", "arn:l", "111122223333"]
        );
    }
}
