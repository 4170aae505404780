//! The in-memory store: what native tests run the operations against. It passes the same
//! contract suite (`store::contract`) as the Durable Object's SQLite store.

use std::collections::{BTreeMap, HashMap};

use super::{
    ClientTokenEntry, Registration, Store, StoreError, StoreResult, UsageEntry, UsageQuery,
};
use crate::domain::catalogue::Product;
use crate::domain::notification::EventRecord;
use crate::domain::time::Instant;

#[derive(Default, Debug, Clone)]
pub struct MemoryStore {
    meta: HashMap<String, String>,
    products: BTreeMap<String, Product>,
    ledger: Vec<UsageEntry>,
    ledger_index: HashMap<String, usize>,
    tokens: HashMap<(String, String), ClientTokenEntry>,
    events: Vec<EventRecord>,
    registrations: Vec<Registration>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Store for MemoryStore {
    fn meta(&self, key: &str) -> StoreResult<Option<String>> {
        Ok(self.meta.get(key).cloned())
    }

    fn put_meta(&mut self, key: &str, value: &str) -> StoreResult<()> {
        self.meta.insert(key.into(), value.into());
        Ok(())
    }

    fn product(&self, code: &str) -> StoreResult<Option<Product>> {
        Ok(self.products.get(code).cloned())
    }

    fn products(&self) -> StoreResult<Vec<Product>> {
        Ok(self.products.values().cloned().collect())
    }

    fn put_product(&mut self, product: &Product) -> StoreResult<()> {
        self.products
            .insert(product.product_code.clone(), product.clone());
        Ok(())
    }

    fn delete_product(&mut self, code: &str) -> StoreResult<bool> {
        Ok(self.products.remove(code).is_some())
    }

    fn usage_by_key(&self, ledger_key: &str) -> StoreResult<Option<UsageEntry>> {
        Ok(self
            .ledger_index
            .get(ledger_key)
            .map(|&i| self.ledger[i].clone()))
    }

    fn insert_usage(&mut self, entry: &UsageEntry) -> StoreResult<()> {
        let id_taken = self
            .ledger
            .iter()
            .any(|e| e.metering_record_id == entry.metering_record_id);
        if self.ledger_index.contains_key(&entry.ledger_key) || id_taken {
            return Err(StoreError(format!(
                "usage {} / {} already recorded",
                entry.ledger_key, entry.metering_record_id
            )));
        }
        self.ledger_index
            .insert(entry.ledger_key.clone(), self.ledger.len());
        self.ledger.push(entry.clone());
        Ok(())
    }

    fn query_usage(&self, query: &UsageQuery) -> StoreResult<Vec<UsageEntry>> {
        Ok(self
            .ledger
            .iter()
            .filter(|e| query.matches(e))
            .take(query.limit)
            .cloned()
            .collect())
    }

    fn client_token(&self, caller: &str, token: &str) -> StoreResult<Option<ClientTokenEntry>> {
        Ok(self.tokens.get(&(caller.into(), token.into())).cloned())
    }

    fn put_client_token(&mut self, entry: &ClientTokenEntry) -> StoreResult<()> {
        self.tokens
            .insert((entry.caller.clone(), entry.token.clone()), entry.clone());
        Ok(())
    }

    fn append_event(&mut self, event: &EventRecord) -> StoreResult<u64> {
        let seq = self.events.len() as u64 + 1;
        self.events.push(EventRecord {
            seq,
            ..event.clone()
        });
        Ok(seq)
    }

    fn update_event(&mut self, event: &EventRecord) -> StoreResult<()> {
        let slot = event
            .seq
            .checked_sub(1)
            .and_then(|i| self.events.get_mut(i as usize))
            .ok_or_else(|| StoreError(format!("no event {}", event.seq)))?;
        *slot = event.clone();
        Ok(())
    }

    fn events(&self, after: u64, limit: usize) -> StoreResult<Vec<EventRecord>> {
        Ok(self
            .events
            .iter()
            .filter(|e| e.seq > after)
            .take(limit)
            .cloned()
            .collect())
    }

    fn events_due(&self, now: Instant, limit: usize) -> StoreResult<Vec<EventRecord>> {
        Ok(self
            .events
            .iter()
            .filter(|e| e.next_attempt_at().is_some_and(|at| at <= now))
            .take(limit)
            .cloned()
            .collect())
    }

    fn next_delivery_at(&self) -> StoreResult<Option<Instant>> {
        Ok(self
            .events
            .iter()
            .filter_map(EventRecord::next_attempt_at)
            .min())
    }

    fn registration(&self, task_key: &str) -> StoreResult<Option<Registration>> {
        Ok(self
            .registrations
            .iter()
            .find(|r| r.task_key == task_key)
            .cloned())
    }

    fn insert_registration(&mut self, registration: &Registration) -> StoreResult<()> {
        if self.registration(&registration.task_key)?.is_some() {
            return Err(StoreError(format!(
                "task {} is already registered",
                registration.task_key
            )));
        }
        self.registrations.push(registration.clone());
        Ok(())
    }

    fn registrations(
        &self,
        product_code: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Registration>> {
        Ok(self
            .registrations
            .iter()
            .filter(|r| product_code.is_none_or(|p| p == r.product_code))
            .take(limit)
            .cloned()
            .collect())
    }

    fn clear(&mut self) -> StoreResult<()> {
        *self = MemoryStore::default();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn memory_store_passes_the_store_contract() {
        super::super::contract::run_all(super::MemoryStore::new);
    }
}
