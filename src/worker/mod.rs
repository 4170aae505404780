//! Worker glue (wasm32 only): the fetch entry (which runs `policy::admit`), the per-namespace Durable
//! Object (`object/`: its request step, signing, alarm and provisioning), its SQLite store,
//! and the registry of provisioned namespaces (locked deployments). Everything here
//! converts between the Workers runtime and the pure core; no metering rule lives here.

mod console;
mod entry;
mod object;
mod registry;
mod runtime;
mod sql_store;
