//! metering-mock: a stateful mock of the AWS Marketplace Metering Service (and of the
//! Entitlement Service's GetEntitlements), run as a Cloudflare Worker.
//!
//! Crate map, from the outside in:
//! - `worker` (wasm32 only): fetch entry, the per-namespace Durable Object, its SQLite store,
//!   and the alarm that delivers webhooks.
//! - `gate`: the one route table with each route's access class, the deployment's
//!   configuration and limits, browser protections, and the secrets of locked deployments.
//! - `admin`: the `/_admin/…` provisioning API of locked deployments (pure parts; its
//!   registry is a Durable Object in `worker`).
//! - `service`: one namespace serving an HTTP request (AWS front door or control API), and
//!   keeping each AWS call in its request journal.
//! - `namespace`: a namespace during one request (store, time, ids, settings, clock)
//!   and its initial state, the embedded demo seed (`seed`) for `default`.
//! - `delivery`: which webhook deliveries are due and what their attempts got.
//! - `protocol`: awsJson1_1 and rpc-v2-cbor framing and errors, the services and their
//!   operations, SigV4 scope, JSON reading, namespace routing.
//! - `control`: the `/_mock/…` control API.
//! - `ops`: one file per AWS operation; decisions and writes in one synchronous step.
//! - `store`: the storage trait, its contract, the in-memory store, the journal's entries.
//! - `domain`: newtypes and pure rules (constraints, quantities, windows, catalogue,
//!   subscriptions, entitlements, registration tokens, notifications).
//! - `error`: the one error enum and its wire names.
//! - `ui`: the dashboard's files, embedded and served at `/_mock/ui/`.
//!
//! Everything but `worker` builds and tests natively with `cargo test`.

pub mod admin;
pub mod control;
pub mod delivery;
pub mod domain;
pub mod error;
pub mod gate;
pub mod namespace;
pub mod ops;
pub mod protocol;
pub mod seed;
pub mod service;
pub mod store;
pub mod ui;

#[cfg(target_arch = "wasm32")]
mod worker;
