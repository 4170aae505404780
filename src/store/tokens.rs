//! Where registration tokens live: a `TokenVault`. In the worker it is KV (written with a
//! TTL, read at the edge); natively, a map. The vault only keeps records; whether a token is
//! expired or already used is decided by `ops::resolve_customer` inside the namespace's
//! single writer, which also keeps the "resolved" marker.
//!
//! Layer: store. Synchronous like `Store`: the worker fetches, before the request runs, the
//! one key `service::plan` names, and writes the puts back after it.

use std::collections::HashMap;

pub trait TokenVault {
    /// The record kept under `key`, if any.
    fn get(&self, key: &str) -> Option<String>;
    /// Keeps `value` under `key` for at least `ttl_seconds`.
    fn put(&mut self, key: &str, value: &str, ttl_seconds: u64);
}

/// The native vault: a map (expiry is decided from the record, not by eviction).
#[derive(Debug, Default, Clone)]
pub struct MemoryVault {
    pub records: HashMap<String, String>,
}

impl TokenVault for MemoryVault {
    fn get(&self, key: &str) -> Option<String> {
        self.records.get(key).cloned()
    }

    fn put(&mut self, key: &str, value: &str, _ttl_seconds: u64) {
        self.records.insert(key.into(), value.into());
    }
}
