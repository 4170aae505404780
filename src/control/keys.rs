//! The namespace's RegisterUsage signing keys and container registrations in the control
//! API: `GET /_mock/keys` (every version with its PEM), `GET /_mock/keys/<v>` (one PEM, to
//! `curl -o`), `GET /_mock/keys/jwks.json`, `POST /_mock/keys` (make version 1),
//! `POST /_mock/keys/rotate`, `POST /_mock/keys/<v>/retire|reinstate`, and
//! `GET /_mock/registrations`.
//!
//! Layer: control. Reading keys never makes one; version 1 is made by the first
//! state-changing use: RegisterUsage, `POST /_mock/keys`, a rotation or a retirement.

use serde::Deserialize;
use serde_json::{json, Value};

use super::{bad, internal, limit_param, ok, optional_body, store_err, Answer, ControlError};
use crate::domain::signing::{KeyError, KeyRing, SigningKey, MAX_VERSIONS};
use crate::domain::time::{optional_rfc3339, Instant};
use crate::namespace::Namespace;
use crate::ops::register_usage::unnamed_tasks;
use crate::protocol::http::{HttpRequest, HttpResponse};
use crate::store::keys::{key_ring, key_ring_with_first, rotate_key, save_key_ring};
use crate::store::{Registration, Store};

const MAX_REGISTRATIONS_LIMIT: usize = 10_000;

/// The namespace's keys, version 1 made if there is none yet (state-changing routes only),
/// and its current time.
fn ring<S: Store + ?Sized>(ns: &mut Namespace<'_, S>) -> Result<(KeyRing, Instant), ControlError> {
    let now = ns.now().map_err(internal)?;
    let ring = key_ring_with_first(ns.store, ns.ids, now).map_err(internal)?;
    Ok((ring, now))
}

fn key_failure(e: KeyError) -> ControlError {
    ControlError(500, e.to_string())
}

fn key_view(key: &SigningKey, now: Instant) -> Result<Value, ControlError> {
    Ok(json!({
        "version": key.version,
        "status": if key.is_retired_at(now) { "retired" } else { "active" },
        "createdAt": key.created_at.to_rfc3339(),
        "retiredAt": key.retired_at.map(|at| at.to_rfc3339()),
        "kid": key.kid(),
        "algorithm": "PS256",
        "publicKeyPem": key.public_pem().map_err(key_failure)?,
    }))
}

fn ring_view(ring: &KeyRing, now: Instant) -> Answer {
    let keys = ring
        .keys()
        .iter()
        .map(|k| key_view(k, now))
        .collect::<Result<Vec<_>, _>>()?;
    ok(json!({ "currentVersion": ring.latest(), "keys": keys }))
}

/// The keys as they are: reading never makes one (a GET changes nothing).
fn current_ring<S: Store + ?Sized>(
    ns: &mut Namespace<'_, S>,
) -> Result<(KeyRing, Instant), ControlError> {
    Ok((
        key_ring(ns.store).map_err(internal)?,
        ns.now().map_err(internal)?,
    ))
}

pub fn list<S: Store + ?Sized>(ns: &mut Namespace<'_, S>) -> Answer {
    let (ring, now) = current_ring(ns)?;
    ring_view(&ring, now)
}

/// `POST /_mock/keys`: makes version 1 if the namespace has no key yet (201), else answers
/// the keys as they are (200). RegisterUsage and the other key routes make it too.
pub fn create<S: Store + ?Sized>(ns: &mut Namespace<'_, S>) -> Answer {
    let had_keys = !key_ring(ns.store).map_err(internal)?.is_empty();
    let (ring, now) = ring(ns)?;
    let mut view = ring_view(&ring, now)?;
    if !had_keys {
        view.status = 201;
    }
    Ok(view)
}

/// Every version (retired ones still verify the signatures they made), as a JWK Set.
pub fn jwks<S: Store + ?Sized>(ns: &mut Namespace<'_, S>) -> Answer {
    let (ring, _) = current_ring(ns)?;
    let keys = ring
        .keys()
        .iter()
        .map(|k| k.public_jwk().map_err(key_failure))
        .collect::<Result<Vec<_>, _>>()?;
    ok(json!({ "keys": keys }))
}

fn version_of(ring: &KeyRing, text: &str) -> Result<u32, ControlError> {
    let number = text.strip_suffix(".pem").unwrap_or(text);
    if ring.is_empty() {
        return Err(ControlError(
            404,
            format!("no key version '{number}': the namespace has no key yet (the first RegisterUsage or POST /_mock/keys makes version 1)"),
        ));
    }
    number
        .parse::<i64>()
        .ok()
        .and_then(|v| ring.version(v))
        .map(|k| k.version)
        .ok_or_else(|| {
            ControlError(
                404,
                format!(
                    "no key version '{number}': versions are 1 to {}",
                    ring.latest()
                ),
            )
        })
}

/// One version's public key as a PEM file.
pub fn pem<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, version: &str) -> Answer {
    let (ring, _) = current_ring(ns)?;
    let version = version_of(&ring, version)?;
    let key = ring
        .version(version.into())
        .ok_or_else(|| ControlError(404, format!("no key version {version}")))?;
    let pem = key.public_pem().map_err(key_failure)?;
    Ok(HttpResponse::new(200, "application/x-pem-file", pem))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RotateBody {
    #[serde(default)]
    retire_previous: bool,
}

pub fn rotate<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, req: &HttpRequest) -> Answer {
    let body: RotateBody = optional_body(req, "rotation", "retirePrevious")?;
    let (ring, now) = ring(ns)?;
    if ring.latest() >= MAX_VERSIONS {
        return Err(ControlError(
            409,
            format!("the namespace already holds {MAX_VERSIONS} key versions"),
        ));
    }
    let ring = rotate_key(ns.store, ring, ns.ids, now, body.retire_previous).map_err(internal)?;
    let mut view = ring_view(&ring, now)?;
    view.status = 201;
    Ok(view)
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RetireBody {
    #[serde(default, with = "optional_rfc3339")]
    at: Option<Instant>,
}

pub fn retire<S: Store + ?Sized>(
    ns: &mut Namespace<'_, S>,
    req: &HttpRequest,
    version: &str,
) -> Answer {
    let body: RetireBody = optional_body(req, "retirement", "at")?;
    if body.at.is_some_and(|at| !at.is_readable_by_every_sdk()) {
        return Err(bad(
            "at must lie in the years 0001 to 9999 (what every SDK reads back)",
        ));
    }
    set_retired(ns, version, Some(body.at))
}

pub fn reinstate<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, version: &str) -> Answer {
    set_retired(ns, version, None)
}

/// Retires a version (`Some(at)`, `at` defaulting to now) or reinstates it (`None`).
fn set_retired<S: Store + ?Sized>(
    ns: &mut Namespace<'_, S>,
    version: &str,
    retirement: Option<Option<Instant>>,
) -> Answer {
    let (mut ring, now) = ring(ns)?;
    let version = version_of(&ring, version)?;
    ring.set_retired(version.into(), retirement.map(|at| at.unwrap_or(now)));
    save_key_ring(ns.store, &ring).map_err(internal)?;
    ring_view(&ring, now)
}

/// `GET /_mock/registrations?productCode=…&limit=…`: the tasks RegisterUsage registered, and
/// how many calls (of any product) named no task.
pub fn registrations<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, req: &HttpRequest) -> Answer {
    let mut product = None;
    let mut limit = 1000;
    for (key, value) in req.query_pairs() {
        match key.as_str() {
            "product" | "productCode" => product = Some(value),
            "limit" => limit = limit_param(&value, MAX_REGISTRATIONS_LIMIT)?,
            other => {
                return Err(bad(format!(
                    "unknown filter '{other}' (filters: productCode, limit)"
                )))
            }
        }
    }
    let found = ns
        .store
        .registrations(product.as_deref(), limit)
        .map_err(store_err)?;
    let views: Vec<Value> = found.iter().map(registration_view).collect();
    let unnamed = unnamed_tasks(ns.store).map_err(internal)?;
    ok(json!({ "count": views.len(), "registrations": views, "unnamedTasks": unnamed }))
}

fn registration_view(r: &Registration) -> Value {
    let mut v = json!(r);
    if let Some(obj) = v.as_object_mut() {
        obj.remove("taskKey");
        obj.insert("registeredAt".into(), json!(r.registered_at.to_rfc3339()));
    }
    v
}
