//! RegisterUsage: a paid container task announces itself at start-up and gets back a
//! signature (a PS256 JWS by the namespace's key of the requested public-key version) that
//! proves the answer came from the service.
//!
//! Order of checks (after the fault queue and `disabledOperations`, which `dispatch`
//! applies to every operation): structure and constraints (`ValidationException`), product
//! (`InvalidProductCodeException`), key version (`InvalidPublicKeyVersionException`), Region
//! (`InvalidRegionException`); then, on a task's first call only (the documented rule),
//! platform (`PlatformNotSupportedException`) and entitlement (`CustomerNotEntitledException`).
//! A task is named by the `X-Mock-Task-Id` header, else by its credential session (the task
//! role's or the pod's `X-Amz-Security-Token`), else by the `Nonce` (long-term keys, as before
//! sessions counted); without any each call is a task of its own. A named task's first
//! successful call registers it, exactly once; a successful call that names no task is only
//! counted, since registering each one would let callers grow the registrations without a
//! bound.

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::shapes;
use super::{known_product, Call};
use crate::domain::catalogue::Product;
use crate::domain::constraints::Violations;
use crate::domain::ids::IdSource;
use crate::domain::settings::RetiredKeyAnswer;
use crate::domain::signing::{Claims, KeyRing, SigningKey};
use crate::domain::time::Instant;
use crate::error::{phrased_err, ErrorKind, ServiceError};
use crate::protocol::json::Structure;
use crate::store::{documents, keys, Registration, Store, TaskSource};

/// The header that names a task (or, for MeterUsage, an instance) explicitly, over its
/// credential session and nonce (lower case: headers are matched case-insensitively).
pub const TASK_HEADER: &str = "x-mock-task-id";
/// How many successful calls named no task (counted, not stored one by one).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
struct UnnamedTasks(u64);

impl documents::Document for UnnamedTasks {
    const KEY: &'static str = documents::UNNAMED_TASKS;
}

/// A decoded, constraint-checked RegisterUsage request.
#[derive(Debug)]
pub struct RegisterUsageRequest {
    pub product_code: String,
    pub public_key_version: i64,
    pub nonce: Option<String>,
}

impl RegisterUsageRequest {
    pub fn decode(input: &Map<String, Value>) -> Result<Self, ServiceError> {
        let s = Structure::new(input, "");
        let mut v = Violations::default();
        let product = shapes::required_product_code(&s, &mut v)?;
        let version = s.integer("PublicKeyVersion")?;
        match &version {
            Some(k) => v.range(k.value, &k.path, 1, i64::MAX),
            None => v.missing(&s.path_of("PublicKeyVersion")),
        }
        let nonce = s.string("Nonce")?;
        if let Some(n) = &nonce {
            v.length(n.value, &n.path, 0, Some(255));
        }
        v.into_result()?;
        match (product, version) {
            (Some(p), Some(k)) => Ok(RegisterUsageRequest {
                product_code: p.value.to_string(),
                public_key_version: k.value,
                nonce: nonce.map(|n| n.value.to_string()),
            }),
            _ => Err(ServiceError::internal("required members checked above")),
        }
    }
}

/// How many successful calls named no task (each one a task of its own).
pub fn unnamed_tasks<S: Store + ?Sized>(store: &S) -> Result<u64, ServiceError> {
    Ok(documents::load::<UnnamedTasks, _>(store)?.0)
}

fn count_unnamed_task<S: Store + ?Sized>(store: &mut S) -> Result<(), ServiceError> {
    let count = unnamed_tasks(store)?.saturating_add(1);
    documents::save(store, &UnnamedTasks(count))
}

/// Which task the call names, and how; `None` when it names none. A session wins over the
/// `Nonce`: real containers draw a fresh nonce per call, and a container restarted inside the
/// same pod keeps the pod's session.
fn task_of(req: &RegisterUsageRequest, call: &Call<'_>) -> Option<(String, TaskSource)> {
    if let Some(task) = call.named_task() {
        Some((task.to_string(), TaskSource::Header))
    } else if let Some(session) = &call.caller.session {
        Some((session.clone(), TaskSource::Session))
    } else {
        req.nonce
            .as_deref()
            .filter(|n| !n.is_empty())
            .map(|nonce| (nonce.to_string(), TaskSource::Nonce))
    }
}

/// The unique key of a task; a session's has a fourth part, so no header or nonce can name it.
fn task_key(product_code: &str, caller: &str, task_id: &str, source: TaskSource) -> String {
    match source {
        TaskSource::Session => json!([product_code, caller, task_id, "session"]),
        _ => json!([product_code, caller, task_id]),
    }
    .to_string()
}

pub fn run<S: Store + ?Sized>(
    input: &Map<String, Value>,
    call: &Call<'_>,
    store: &mut S,
    ids: &mut dyn IdSource,
) -> Result<Value, ServiceError> {
    let req = RegisterUsageRequest::decode(input)?;
    call.instance()?; // checks X-Mock-Task-Id
    let product = known_product(store, call.namespace, &req.product_code)?;
    let ring = keys::key_ring_with_first(store, ids, call.now)?;
    let (key, rotation) = key_of(&req, &ring, call)?;
    if !product.runs_in(&call.caller.region) {
        return phrased_err(
            ErrorKind::InvalidRegionException,
            format!(
                "product {} is not offered in {} (its Regions: {})",
                product.product_code,
                call.caller.region,
                product.regions.join(", ")
            ),
        );
    }
    // Signed (or, in the worker, its signing prepared) before anything is written. A
    // signature the worker makes after the step may still fail; the task is then registered
    // and a retry of it answers as the first would.
    let claims = Claims {
        product_code: product.product_code.to_string(),
        public_key_version: key.version,
        nonce: req.nonce.clone(),
        issued_at: call.now.millis().div_euclid(1000),
    };
    let signature = ids.sign(key, &claims).map_err(ServiceError::internal)?;
    register(&req, &product, key.version, call, store)?;
    shapes::output(RegisterUsageResult {
        public_key_rotation_timestamp: rotation.map(shapes::epoch_seconds),
        signature,
    })
}

/// RegisterUsage's answer, the model's `RegisterUsageResult`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RegisterUsageResult {
    #[serde(skip_serializing_if = "Option::is_none")]
    public_key_rotation_timestamp: Option<Value>,
    signature: String,
}

/// The key the request names, and when it was rotated out if it was (a retired key still
/// signs, with the rotation's time in the answer, unless the namespace says otherwise).
fn key_of<'r>(
    req: &RegisterUsageRequest,
    ring: &'r KeyRing,
    call: &Call<'_>,
) -> Result<(&'r SigningKey, Option<Instant>), ServiceError> {
    let unknown_version = || {
        phrased_err(
            ErrorKind::InvalidPublicKeyVersionException,
            format!(
                "{} is not a version of this namespace's keys; the current version is {} (GET /_mock/keys lists them)",
                req.public_key_version,
                ring.latest()
            ),
        )
    };
    let Some(key) = ring.version(req.public_key_version) else {
        return unknown_version();
    };
    let rotation = key.retired_at.filter(|_| key.is_retired_at(call.now));
    if rotation.is_some()
        && call.settings.retired_public_key_version == RetiredKeyAnswer::InvalidPublicKeyVersion
    {
        return unknown_version();
    }
    Ok((key, rotation))
}

/// Registers the caller's task, once per task: the platform must be supported and the
/// caller entitled (a retry of a registered task answers as the first call did).
fn register<S: Store + ?Sized>(
    req: &RegisterUsageRequest,
    product: &Product,
    public_key_version: u32,
    call: &Call<'_>,
    store: &mut S,
) -> Result<(), ServiceError> {
    let caller = call.caller.identity();
    let task = task_of(req, call).map(|(task_id, task_source)| {
        let task_key = task_key(&product.product_code, caller, &task_id, task_source);
        (task_key, task_id, task_source)
    });
    if let Some((task_key, _, _)) = &task {
        if store.registration(task_key)?.is_some() {
            return Ok(());
        }
    }
    if !call.settings.container_platform.is_supported() {
        return Err(ServiceError::phrased(
            ErrorKind::PlatformNotSupportedException,
            format!(
                "this namespace's containerPlatform setting says the caller runs on {}",
                call.settings.container_platform.name()
            ),
        ));
    }
    if let Some(account) = &call.caller.account {
        // The seller's own account is in preview mode: no entitlement check.
        let preview = product.seller_account_id.as_deref() == Some(account.as_str());
        if !preview && !product.entitles(account, call.now) {
            return phrased_err(
                ErrorKind::CustomerNotEntitledException,
                format!(
                    "account {account} is not entitled to product {}",
                    product.product_code
                ),
            );
        }
    }
    let Some((task_key, task_id, task_source)) = task else {
        return count_unnamed_task(store);
    };
    store.insert_registration(&Registration {
        task_key,
        task_id,
        task_source,
        product_code: product.product_code.to_string(),
        caller: caller.to_string(),
        region: call.caller.region.clone(),
        public_key_version,
        nonce: req.nonce.clone(),
        registered_at: call.now,
        request_id: call.request_id.to_string(),
    })?;
    Ok(())
}
