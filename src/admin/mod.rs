//! The admin API of a locked deployment (`/_admin/…`): provisioning namespaces. This module
//! holds what is pure: reading requests, the registry's records and the answers; the
//! registry itself (one Durable Object, the single writer of the list of namespaces) is in
//! `worker::registry`, and each namespace keeps its own credentials (`policy::secrets`).
//!
//! Layer: admin. Never imports the runtime or a namespace's store.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::domain::time::Instant;
use crate::policy::deployment::Deployment;
use crate::policy::routes::{self, example_path, ROUTES};
use crate::policy::secrets::Issued;
use crate::protocol::route::is_namespace_name;

/// `POST /_admin/namespaces`.
#[derive(Debug, PartialEq, Eq)]
pub struct CreateRequest {
    pub name: String,
    pub idle_days: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateBody {
    name: String,
    idle_days: Option<u64>,
}

impl CreateRequest {
    pub fn parse(body: &[u8], deployment: &Deployment) -> Result<CreateRequest, String> {
        let body: CreateBody = serde_json::from_slice(body).map_err(|e| {
            format!(
                "the body must be {{\"name\": \"…\", \"idleDays\"?: 1-{}}}: {e}",
                deployment.max_idle_days()
            )
        })?;
        if !is_namespace_name(&body.name) {
            return Err(format!(
                "name '{}' must be 1-64 characters of letters, digits, '-' and '_'",
                body.name
            ));
        }
        let idle_days = match body.idle_days {
            None => deployment.idle_days,
            Some(days) if (1..=deployment.max_idle_days() as u64).contains(&days) => days as u32,
            Some(days) => {
                return Err(format!(
                    "idleDays must be from 1 to {}, not {days}",
                    deployment.max_idle_days()
                ))
            }
        };
        Ok(CreateRequest {
            name: body.name,
            idle_days,
        })
    }
}

/// A provisioned namespace as the registry lists it (no secret: those live in the namespace).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceRecord {
    pub name: String,
    pub created_at: i64,
    pub idle_days: u32,
    pub access_key_id: String,
}

/// The URL a namespace's clients use: the bare origin for `default`, else `/ns/<name>`.
pub fn endpoint(origin: &str, name: &str) -> String {
    if routes::is_default(name) {
        origin.to_string()
    } else {
        format!("{origin}/ns/{name}")
    }
}

/// The answer to a creation or a rotation: the only time secrets are shown.
pub fn issued_view(origin: &str, record: &NamespaceRecord, issued: &Issued) -> Value {
    json!({
        "name": record.name,
        "endpoint": endpoint(origin, &record.name),
        "controlToken": issued.control_token,
        "credentials": {
            "accessKeyId": issued.access_key_id,
            "secretAccessKey": issued.secret_access_key,
        },
        "idleDays": record.idle_days,
        "createdAt": Instant(record.created_at).to_rfc3339(),
    })
}

/// One namespace of `GET /_admin/namespaces`; `last_activity_at` is what the namespace last
/// told the registry (at most an hour old), the creation time until then.
pub fn listed_view(
    origin: &str,
    record: &NamespaceRecord,
    last_activity_at: Option<i64>,
    day_ms: i64,
) -> Value {
    let last = last_activity_at.unwrap_or(record.created_at);
    let expires = expiry(last, record.idle_days, day_ms);
    json!({
        "name": record.name,
        "endpoint": endpoint(origin, &record.name),
        "accessKeyId": record.access_key_id,
        "createdAt": Instant(record.created_at).to_rfc3339(),
        "lastActivityAt": Instant(last).to_rfc3339(),
        "idleDays": record.idle_days,
        "expiresAt": Instant(expires).to_rfc3339(),
    })
}

/// `GET /_admin/routes`: the route table, with an example path for each route.
pub fn routes_view() -> Value {
    let routes: Vec<Value> = ROUTES
        .iter()
        .map(|r| {
            let mut v = json!(r);
            v["example"] = json!(example_path(r));
            v
        })
        .collect();
    json!({ "routes": routes })
}

/// Whether a namespace unused since `last_activity_at` has expired at `now` (host time);
/// a day lasts `day_ms` (the deployment's `IDLE_DAY_SECONDS`).
pub fn is_expired(last_activity_at: i64, idle_days: u32, day_ms: i64, now: i64) -> bool {
    now >= expiry(last_activity_at, idle_days, day_ms)
}

/// When a namespace unused since `last_activity_at` expires.
pub fn expiry(last_activity_at: i64, idle_days: u32, day_ms: i64) -> i64 {
    last_activity_at.saturating_add(i64::from(idle_days).saturating_mul(day_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creation_requests_are_validated() {
        let d = Deployment::default();
        let ok = CreateRequest::parse(br#"{"name": "team-a"}"#, &d).unwrap();
        assert_eq!(
            ok,
            CreateRequest {
                name: "team-a".into(),
                idle_days: 7
            }
        );
        let days = CreateRequest::parse(br#"{"name": "default", "idleDays": 1}"#, &d).unwrap();
        assert_eq!(days.idle_days, 1);
        for bad in [
            &br#"{"name": "a.b"}"#[..],
            br#"{"name": ""}"#,
            br#"{"name": "x", "idleDays": 0}"#,
            br#"{"name": "x", "idleDays": 99999}"#,
            br#"{"name": "x", "extra": 1}"#,
            br#"{}"#,
            b"nope",
        ] {
            assert!(
                CreateRequest::parse(bad, &d).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn endpoints_and_views_carry_no_secret_but_at_creation() {
        assert_eq!(
            endpoint("https://m.example", "default"),
            "https://m.example"
        );
        assert_eq!(
            endpoint("https://m.example", "ci-1"),
            "https://m.example/ns/ci-1"
        );
        let issued = Issued::from_random(&[5; 96]);
        let record = NamespaceRecord {
            name: "ci-1".into(),
            created_at: 0,
            idle_days: 2,
            access_key_id: issued.access_key_id.clone(),
        };
        let listed =
            listed_view("https://m.example", &record, Some(86_400_000), 86_400_000).to_string();
        assert!(!listed.contains(&issued.secret_access_key));
        assert!(!listed.contains(&issued.control_token));
        assert!(listed.contains("1970-01-04T00:00:00Z"), "{listed}");
        let created = issued_view("https://m.example", &record, &issued);
        assert_eq!(
            created["credentials"]["secretAccessKey"],
            issued.secret_access_key.as_str()
        );
    }

    #[test]
    fn namespaces_expire_idle_days_after_their_last_use() {
        const DAY: i64 = 86_400_000;
        assert!(!is_expired(0, 1, DAY, DAY - 1));
        assert!(is_expired(0, 1, DAY, DAY));
        assert_eq!(expiry(10, 2, DAY), 10 + 2 * DAY);
        assert!(is_expired(0, 1, 2_000, 2_000));
    }
}
