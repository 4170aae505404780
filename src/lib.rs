//! metering-mock: a stateful mock of the AWS Marketplace Metering Service (with the
//! Entitlement Service's GetEntitlements, the Agreement Service and Discovery), run as a
//! Cloudflare Worker.
//!
//! Crate map, in layers from the outside in; a module imports only layers below its own
//! (`tests/layers.rs` keeps this true):
//! 1. `worker` (wasm32 only): the fetch entry, the per-namespace Durable Object with its
//!    SQLite store and alarm, the registry of provisioned namespaces.
//! 2. `service`: one namespace serving an HTTP request (an AWS front door or the control
//!    API), keeping each AWS call in its request journal. `admin`: the `/_admin/…`
//!    provisioning API of locked deployments (its registry object is in `worker`).
//! 3. `control`: the `/_mock/…` control API. `delivery`: which webhook deliveries are due
//!    and what their attempts got.
//! 4. `namespace`: a namespace during one request (store, time, ids, settings, clock) and
//!    its initial state.
//! 5. `ops`: one module per Metering and Entitlement operation, decisions and writes in one
//!    synchronous step; `ops::agreement`: the Agreement Service's and Discovery's.
//!    `policy`: the route table and access classes, `admit` (what every request passes at
//!    the entry), the deployment's variables and limits, browser and outbound protections,
//!    rate, secrets. `seed`: the embedded demo seed. `ui`: the dashboard's files.
//! 6. `store`: the storage trait, its contract suite, the in-memory store, the journal's
//!    entries.
//! 7. `protocol`: awsJson1_1, awsJson1_0, rest-json and rpc-v2-cbor framing and errors, the
//!    services and their operations, SigV4, JSON reading, namespace routing.
//! 8. `model`: the embedded service models (`models/`) of the services served from them:
//!    shapes, constraints and their validation, modeled errors.
//! 9. `domain`: newtypes and pure rules (constraints, quantities, windows, catalogue,
//!    subscriptions, entitlements, registration tokens, notifications, bills, signing keys).
//! 10. `error`: the one error enum and its wire names.
//!
//! Everything but `worker` builds and tests natively with `cargo test`.

pub mod admin;
pub mod control;
pub mod delivery;
pub mod domain;
pub mod error;
pub mod model;
pub mod namespace;
pub mod ops;
pub mod policy;
pub mod protocol;
pub mod seed;
pub mod service;
pub mod store;
pub mod ui;

#[cfg(target_arch = "wasm32")]
mod worker;
