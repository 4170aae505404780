//! The Workers runtime's names and small conversions that the fetch entry and the Durable
//! Objects share: the bindings of wrangler.toml, the deployment's configuration read from
//! the environment, core responses as Workers responses, and request ids.

use worker::{js_sys, Env, Headers, Response, Result};

use crate::domain::ids::uuid_v4_from_bytes;
use crate::policy::deployment::Deployment;
use crate::protocol::http::HttpResponse;

/// The Durable Object binding of the namespaces in wrangler.toml.
pub const NAMESPACES_BINDING: &str = "NAMESPACES";
/// The Durable Object binding of the registry of provisioned namespaces.
pub const REGISTRY_BINDING: &str = "REGISTRY";
/// The registry is one object.
pub const REGISTRY_NAME: &str = "registry";

/// The deployment's configuration from its variables and secrets (`ADMIN_TOKEN` may be
/// either: `wrangler secret put`, `--var`, or `.dev.vars`). An isolate runs one version of
/// the worker with one environment, so it is read once per isolate.
pub fn deployment(env: &Env) -> std::result::Result<Deployment, String> {
    thread_local! {
        static READ: std::cell::RefCell<Option<std::result::Result<Deployment, String>>> =
            const { std::cell::RefCell::new(None) };
    }
    READ.with(|read| {
        read.borrow_mut()
            .get_or_insert_with(|| {
                Deployment::from_vars(|name| env.var(name).ok().map(|v| v.to_string()))
            })
            .clone()
    })
}

/// Converts a core response into a Workers response.
pub fn to_response(response: HttpResponse) -> Result<Response> {
    let headers = Headers::new();
    for (name, value) in &response.headers {
        headers.append(name, value)?;
    }
    // A status that has no body gets a null one (the runtime warns about an empty body).
    let response_out = match response.status {
        101 | 204 | 205 | 304 => Response::empty()?,
        _ => Response::from_bytes(response.body)?,
    };
    Ok(response_out
        .with_status(response.status)
        .with_headers(headers))
}

/// A fresh UUID from the runtime's cryptographic random source; `None` if it failed.
pub fn try_random_uuid() -> Option<String> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).ok()?;
    Some(uuid_v4_from_bytes(bytes))
}

/// A request id. `crypto.getRandomValues` does not fail in workerd; should it, a request id
/// (which guards nothing) is still made unique from the clock, while record ids and secrets
/// fail their request instead (`try_random_uuid`).
pub fn random_uuid() -> String {
    try_random_uuid().unwrap_or_else(|| {
        let mut bytes = [0u8; 16];
        let now = js_sys::Date::now().to_bits().to_be_bytes();
        let noise = (js_sys::Math::random().to_bits()).to_be_bytes();
        bytes[..8].copy_from_slice(&now);
        bytes[8..].copy_from_slice(&noise);
        uuid_v4_from_bytes(bytes)
    })
}
