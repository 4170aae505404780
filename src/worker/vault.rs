//! The KV-backed vault of registration tokens. KV is asynchronous and the namespace's
//! request runs in one synchronous step, so the vault reads the one key the request may need
//! before it runs (`service::plan`) and writes what it minted after it.

use std::collections::HashMap;

use worker::{Env, Result};

use crate::store::tokens::TokenVault;

/// The KV binding of wrangler.toml.
pub const TOKENS_BINDING: &str = "REGISTRATION_TOKENS";

/// The binding is looked up only when a request reads or writes a token, so metering calls
/// pay nothing for it.
pub struct KvVault {
    env: Env,
    read: HashMap<String, Option<String>>,
    writes: Vec<(String, String, u64)>,
}

impl KvVault {
    pub fn new(env: &Env) -> KvVault {
        KvVault {
            env: env.clone(),
            read: HashMap::new(),
            writes: Vec::new(),
        }
    }

    /// Drops what the request would have written (its step was rolled back).
    pub fn discard(&mut self) {
        self.writes.clear();
    }

    pub async fn prefetch(&mut self, key: &str) -> Result<()> {
        let value = self.env.kv(TOKENS_BINDING)?.get(key).text().await?;
        self.read.insert(key.to_string(), value);
        Ok(())
    }

    /// Writes the records minted during the request, each with its TTL.
    pub async fn flush(&mut self) -> Result<()> {
        if self.writes.is_empty() {
            return Ok(());
        }
        let kv = self.env.kv(TOKENS_BINDING)?;
        for (key, value, ttl) in self.writes.drain(..) {
            kv.put(&key, value)?.expiration_ttl(ttl).execute().await?;
        }
        Ok(())
    }
}

impl TokenVault for KvVault {
    fn get(&self, key: &str) -> Option<String> {
        self.read.get(key).cloned().flatten()
    }

    fn put(&mut self, key: &str, value: &str, ttl_seconds: u64) {
        // A record read later in this same request must see the write.
        self.read.insert(key.to_string(), Some(value.to_string()));
        self.writes
            .push((key.to_string(), value.to_string(), ttl_seconds));
    }
}
