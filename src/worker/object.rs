//! The Durable Object of one namespace: the single writer of its catalogue, ledger and
//! settings. Each request runs the core's `Namespace::handle` synchronously over the
//! object's SQLite store, so a decision and its write are one step that no concurrent
//! request can interleave with.

use std::cell::RefCell;

use worker::{
    durable_object, js_sys, DurableObject, Env, Headers, Request, Response, Result, State,
};

use super::sql_store::SqlStore;
use crate::domain::ids::{uuid_v4_from_bytes, IdSource};
use crate::domain::time::Instant;
use crate::protocol::http::{HttpRequest, HttpResponse};
use crate::protocol::route;
use crate::service::Namespace;

#[durable_object]
pub struct NamespaceObject {
    store: RefCell<SqlStore>,
}

impl DurableObject for NamespaceObject {
    fn new(state: State, _env: Env) -> Self {
        NamespaceObject {
            store: RefCell::new(SqlStore::open(state.storage().sql())),
        }
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
        // From here to the response there is no `await`: the request is one atomic step.
        let response = {
            let mut store = self.store.borrow_mut();
            let mut ids = RandomIds;
            Namespace {
                name: routed.namespace,
                store: &mut *store,
                host_now: Instant(js_sys::Date::now() as i64),
                ids: &mut ids,
            }
            .handle(&request)
        };
        to_response(response)
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
