//! Worker glue (wasm32 only): the fetch entry and its gate, the per-namespace Durable
//! Object, its SQLite store, the registry of provisioned namespaces (locked deployments),
//! and the webhook sender. Everything here
//! converts between the Workers runtime and the pure core; no metering rule lives here.

mod entry;
mod object;
mod registry;
mod runtime;
mod sql_store;
