//! `/_mock/settings`, `/_mock/clock` and `/_mock/faults`: how the namespace behaves,
//! the time it runs on, and the faults queued for its next calls.

use serde_json::{json, Map, Value};

use super::{bad, body_json, internal, ok, parse_instant, parse_json, Answer, ControlError};
use crate::domain::settings::{Clock, Settings};
use crate::namespace::{load_clock, load_settings, Namespace};
use crate::ops::agreement::milestones;
use crate::ops::faults::{self, Fault};
use crate::policy::deployment::WebhookPolicy;
use crate::protocol::http::{HttpRequest, HttpResponse};
use crate::store::{documents, Store};

/// Settings as the control API shows them: `signatureCredentials` by key id only, since no
/// answer ever carries a secret.
pub fn settings_view(settings: &Settings) -> Value {
    let mut view = json!(settings);
    if let Some(obj) = view.as_object_mut() {
        obj.remove("signatureCredentials");
        obj.insert(
            "signatureCredentialKeyIds".into(),
            json!(settings.signature_credentials.keys().collect::<Vec<_>>()),
        );
    }
    view
}

pub(super) fn patch_settings<S: Store + ?Sized>(
    ns: &mut Namespace<'_, S>,
    req: &HttpRequest,
) -> Answer {
    let Value::Object(patch) = body_json(req)? else {
        return Err(bad("the body must be a JSON object of settings to change"));
    };
    let current = load_settings(ns.store).map_err(internal)?;
    let settings = patched(ns, &current, patch, "settings")?;
    documents::save(ns.store, &settings).map_err(internal)?;
    ok(settings_view(&settings))
}

/// `base` with `patch` applied, checked against the deployment.
pub(super) fn patched<S: Store + ?Sized>(
    ns: &Namespace<'_, S>,
    base: &Settings,
    patch: Map<String, Value>,
    what: &str,
) -> Result<Settings, ControlError> {
    let mut merged = json!(base);
    if let Some(obj) = merged.as_object_mut() {
        obj.extend(patch);
    }
    let settings: Settings = parse_json(merged, what)?;
    settings.check().map_err(bad)?;
    check_webhook_caps(&settings, &ns.deployment.webhooks)?;
    Ok(settings)
}

/// Settings may lower the deployment's webhook caps, never raise them.
pub(super) fn check_webhook_caps(
    settings: &Settings,
    policy: &WebhookPolicy,
) -> Result<(), ControlError> {
    if settings.webhook_max_attempts > policy.max_attempts {
        return Err(bad(format!(
            "webhookMaxAttempts must be at most {} on this deployment (WEBHOOK_MAX_ATTEMPTS)",
            policy.max_attempts
        )));
    }
    if settings.webhook_retry_delay_seconds > policy.max_retry_delay_seconds {
        return Err(bad(format!(
            "webhookRetryDelaySeconds must be at most {} on this deployment (WEBHOOK_MAX_RETRY_DELAY_SECONDS)",
            policy.max_retry_delay_seconds
        )));
    }
    Ok(())
}

pub(super) fn clock_view<S: Store + ?Sized>(ns: &mut Namespace<'_, S>) -> Answer {
    let clock = load_clock(ns.store).map_err(internal)?;
    let now = clock.now(ns.host_now);
    let mut view = json!({
        "now": now.to_rfc3339(),
        "nowEpochSeconds": now.epoch_seconds(),
        "offsetSeconds": clock.offset_ms as f64 / 1000.0,
        "frozen": clock.frozen_at.is_some(),
    });
    // When the clock next brings something (a milestone, an automatic approval, an expiry,
    // a month's invoicing): what a test moves the clock to.
    let settings = load_settings(ns.store).map_err(internal)?;
    if let Some(at) = milestones::upcoming(ns.store, &settings, now).map_err(internal)? {
        view["nextDeadline"] = json!(at.max(now).to_rfc3339());
    }
    ok(view)
}

pub(super) fn put_clock<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, req: &HttpRequest) -> Answer {
    let Value::Object(body) = body_json(req)? else {
        return Err(bad("the body must be a JSON object"));
    };
    let mut clock = Clock::default();
    for (key, value) in &body {
        match (key.as_str(), value) {
            ("offsetSeconds", Value::Number(n)) => {
                let seconds = n.as_f64().unwrap_or(f64::NAN);
                if !(-3.2e8..=3.2e8).contains(&seconds) {
                    return Err(bad("offsetSeconds must be within ±320000000 (about ten years)"));
                }
                clock.offset_ms = (seconds * 1000.0).round() as i64;
            }
            ("frozenAt", Value::Number(n)) => {
                clock.frozen_at = Some(parse_instant("frozenAt", &n.to_string())?)
            }
            ("frozenAt", Value::String(s)) => clock.frozen_at = Some(parse_instant("frozenAt", s)?),
            ("frozenAt" | "offsetSeconds", Value::Null) => {}
            _ => {
                return Err(bad(format!(
                    "unknown or mistyped clock field '{key}' (fields: offsetSeconds: number, frozenAt: epoch seconds or RFC 3339)"
                )))
            }
        }
    }
    let given = |key: &str| body.get(key).is_some_and(|v| !v.is_null());
    if given("frozenAt") && given("offsetSeconds") {
        return Err(bad("give either offsetSeconds or frozenAt, not both"));
    }
    documents::save(ns.store, &clock).map_err(internal)?;
    // Agreement milestones the new time has reached are sent now.
    let settings = load_settings(ns.store).map_err(internal)?;
    let now = ns.now().map_err(internal)?;
    milestones::sweep(ns.store, now, ns.host_now, &settings, ns.ids).map_err(internal)?;
    clock_view(ns)
}

pub(super) fn list_faults<S: Store + ?Sized>(ns: &mut Namespace<'_, S>) -> Answer {
    ok(json!({ "faults": faults::queued(ns.store).map_err(internal)? }))
}

pub(super) fn add_fault<S: Store + ?Sized>(ns: &mut Namespace<'_, S>, req: &HttpRequest) -> Answer {
    let fault: Fault = parse_json(body_json(req)?, "fault")?;
    let queued = faults::push(ns.store, fault)
        .map_err(internal)?
        .map_err(bad)?;
    Ok(HttpResponse::json(201, &json!({ "faults": queued })))
}
