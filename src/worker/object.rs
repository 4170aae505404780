//! The Durable Object of one namespace: the single writer of its catalogue, ledger,
//! settings and event log. Each request runs the core's `Namespace::handle` synchronously
//! over the object's SQLite store, so a decision and its write are one step that no
//! concurrent request can interleave with; the KV token record it may need is read before,
//! minted tokens are written after. Webhook deliveries run from the object's alarm.

use std::cell::RefCell;

use futures_util::{stream, StreamExt};
use worker::{
    durable_object, js_sys, web_sys, AbortSignal, DurableObject, Env, Fetch, Headers, Method,
    Request, RequestInit, Response, Result, ScheduledTime, State,
};

use super::sql_store::SqlStore;
use super::vault::KvVault;
use crate::delivery::{self, DueDelivery};
use crate::domain::ids::{uuid_v4_from_bytes, IdSource};
use crate::domain::time::Instant;
use crate::protocol::http::{HttpRequest, HttpResponse};
use crate::protocol::route;
use crate::service::{self, Namespace};
use crate::store::Store;

/// How long a webhook may take to answer before the attempt counts as failed.
const WEBHOOK_TIMEOUT_MS: u32 = 10_000;

#[durable_object]
pub struct NamespaceObject {
    state: State,
    env: Env,
    store: RefCell<SqlStore>,
}

fn host_now() -> Instant {
    Instant(js_sys::Date::now() as i64)
}

impl DurableObject for NamespaceObject {
    fn new(state: State, env: Env) -> Self {
        let store = RefCell::new(SqlStore::open(state.storage().sql()));
        NamespaceObject { state, env, store }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let url = req.url()?;
        let routed = route::split(url.path()).map_err(worker::Error::RustError)?;
        let request = HttpRequest {
            method: req.method().to_string(),
            path: routed.path,
            full_path: url.path().to_string(),
            query: url.query().unwrap_or_default().to_string(),
            headers: req.headers().entries().collect(),
            body: req.bytes().await?,
        };
        let mut vault = KvVault::new(&self.env);
        if let Some(key) = service::vault_reads(routed.namespace, &request) {
            vault.prefetch(&key).await?;
        }
        // From here to the response there is no `await`: the request is one atomic step.
        let response = {
            let mut store = self.store.borrow_mut();
            let mut ids = RandomIds;
            Namespace {
                name: routed.namespace,
                store: &mut *store,
                tokens: &mut vault,
                host_now: host_now(),
                ids: &mut ids,
            }
            .handle(&request)
        };
        // The request's state is saved by now: what follows must not turn it into an error
        // the client would retry (a second sign-up, a second event).
        if self.store.borrow().take_appended_events() {
            if let Err(e) = self.schedule_deliveries().await {
                worker::console_error!("setting the delivery alarm failed: {e}");
            }
        }
        if let Err(e) = vault.flush().await {
            // Only control requests mint tokens; answer in the control API's format.
            let body = serde_json::json!({
                "error": format!("the request was applied, but storing its registration token in KV failed: {e}")
            });
            return to_response(HttpResponse::json(500, &body));
        }
        to_response(response)
    }

    async fn alarm(&self) -> Result<Response> {
        let due = delivery::due(&*self.store.borrow(), host_now())
            .map_err(|e| worker::Error::RustError(e.message))?;
        // Several at once, each recorded as soon as it is answered: a slow webhook must not
        // hold back the others. A timeout starts only when its request is sent.
        let attempts = stream::iter(due.iter().map(|d| async move {
            let outcome = send(d).await;
            delivery::record(&mut *self.store.borrow_mut(), d, outcome, host_now())
        }))
        .buffer_unordered(delivery::MAX_IN_FLIGHT)
        .collect::<Vec<_>>()
        .await;
        for recorded in attempts {
            recorded.map_err(|e| worker::Error::RustError(e.message))?;
        }
        self.schedule_deliveries().await?;
        Response::empty()
    }
}

impl NamespaceObject {
    /// Sets the alarm to the earliest pending delivery (or leaves none).
    async fn schedule_deliveries(&self) -> Result<()> {
        let next = self
            .store
            .borrow()
            .next_delivery_at()
            .map_err(|e| worker::Error::RustError(e.to_string()))?;
        let storage = self.state.storage();
        if let Some(at) = next {
            let current = storage.get_alarm().await?;
            if current.is_none_or(|c| c > at.millis()) {
                let when = js_sys::Date::new(&(at.millis() as f64).into());
                storage.set_alarm(ScheduledTime::new(when)).await?;
            }
        }
        Ok(())
    }
}

/// POSTs one delivery; `Ok(status)` for any HTTP answer, `Err` for no answer in time.
async fn send(d: &DueDelivery) -> std::result::Result<u16, String> {
    let attempt = async {
        let headers = Headers::new();
        for (name, value) in &d.headers {
            headers.set(name, value)?;
        }
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_headers(headers)
            .with_body(Some(d.body.clone().into()));
        let request = Request::new_with_init(&d.url, &init)?;
        let signal = AbortSignal::from(web_sys::AbortSignal::timeout_with_u32(WEBHOOK_TIMEOUT_MS));
        Fetch::Request(request).send_with_signal(&signal).await
    };
    match attempt.await {
        Ok(response) => Ok(response.status_code()),
        Err(e) => Err(format!("no answer from {}: {e}", d.url)),
    }
}

/// Converts a core response into a Workers response.
pub fn to_response(response: HttpResponse) -> Result<Response> {
    let headers = Headers::new();
    for (name, value) in &response.headers {
        headers.append(name, value)?;
    }
    Ok(Response::from_bytes(response.body)?
        .with_status(response.status)
        .with_headers(headers))
}

/// UUIDs from the runtime's cryptographic random source.
struct RandomIds;

impl IdSource for RandomIds {
    fn next_uuid(&mut self) -> String {
        random_uuid()
    }

    fn random_seed(&mut self) -> Option<[u8; 32]> {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).ok().map(|_| seed)
    }
}

pub fn random_uuid() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::getrandom(&mut bytes).is_err() {
        // crypto.getRandomValues does not fail in workerd; keep ids unique regardless.
        let now = js_sys::Date::now().to_bits().to_be_bytes();
        let noise = (js_sys::Math::random().to_bits()).to_be_bytes();
        bytes[..8].copy_from_slice(&now);
        bytes[8..].copy_from_slice(&noise);
    }
    uuid_v4_from_bytes(bytes)
}
