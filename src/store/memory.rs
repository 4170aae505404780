//! The in-memory store: what native tests run the operations against. It passes the same
//! contract suite (`store::contract`) as the Durable Object's SQLite store, and keeps the
//! same bounds (its `Retention`).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Bound;

use super::journal::{JournalEntry, JournalPage, JournalQuery};
use super::{
    ClientTokenEntry, Registration, Retention, Store, StoreError, StoreResult, UsageEntry,
    UsageQuery, MAX_REGISTRATION_TOKENS,
};
use std::rc::Rc;

use crate::domain::bill::UsageTotal;
use crate::domain::catalogue::Product;
use crate::domain::notification::EventRecord;
use crate::domain::time::Instant;

#[derive(Default, Debug, Clone)]
pub struct MemoryStore {
    retention: Retention,
    meta: HashMap<String, String>,
    products: BTreeMap<String, Rc<Product>>,
    /// By a number that grows with each entry, so the oldest is the first.
    ledger: BTreeMap<u64, UsageEntry>,
    ledger_index: HashMap<String, u64>,
    tokens: HashMap<(String, String), ClientTokenEntry>,
    /// The keys of `tokens` by first insertion, oldest first.
    token_order: VecDeque<(String, String)>,
    /// By `seq`.
    events: BTreeMap<u64, EventRecord>,
    registrations: VecDeque<Registration>,
    /// Registration tokens' records, how long each is kept, and when it was first minted
    /// (a number that grows).
    registration_tokens: HashMap<String, (String, Instant, u64)>,
    minted: u64,
    /// The request journal by `seq`, and the last number given.
    journal: BTreeMap<u64, JournalEntry>,
    journal_numbered: u64,
}

impl MemoryStore {
    /// A store with the default `Retention`.
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_retention(retention: Retention) -> Self {
        MemoryStore {
            retention: retention.at_least_one(),
            ..Self::default()
        }
    }
}

/// The number after the last key; the last entry is never dropped, so numbers keep growing.
fn next_number<V>(map: &BTreeMap<u64, V>) -> u64 {
    map.last_key_value().map_or(1, |(&last, _)| last + 1)
}

impl Store for MemoryStore {
    fn meta(&self, key: &str) -> StoreResult<Option<String>> {
        Ok(self.meta.get(key).cloned())
    }

    fn forget_meta_before(&mut self, prefix: &str, before: &str) -> StoreResult<()> {
        self.meta
            .retain(|key, value| !(key.starts_with(prefix) && value.as_str() < before));
        Ok(())
    }

    fn put_meta(&mut self, key: &str, value: &str) -> StoreResult<()> {
        self.meta.insert(key.into(), value.into());
        Ok(())
    }

    fn product(&self, code: &str) -> StoreResult<Option<Rc<Product>>> {
        Ok(self.products.get(code).cloned())
    }

    fn products(&self) -> StoreResult<Vec<Rc<Product>>> {
        Ok(self.products.values().cloned().collect())
    }

    fn put_product(&mut self, product: &Product) -> StoreResult<()> {
        self.products
            .insert(product.product_code.to_string(), Rc::new(product.clone()));
        Ok(())
    }

    fn delete_product(&mut self, code: &str) -> StoreResult<bool> {
        Ok(self.products.remove(code).is_some())
    }

    fn usage_by_key(&self, _hour: Instant, ledger_key: &str) -> StoreResult<Option<UsageEntry>> {
        Ok(self
            .ledger_index
            .get(ledger_key)
            .and_then(|number| self.ledger.get(number))
            .cloned())
    }

    fn insert_usage(&mut self, entry: &UsageEntry) -> StoreResult<()> {
        if self.ledger_index.contains_key(&entry.ledger_key) {
            return Err(StoreError(format!(
                "usage {} / {} already recorded",
                entry.ledger_key, entry.metering_record_id
            )));
        }
        let number = next_number(&self.ledger);
        self.ledger_index.insert(entry.ledger_key.clone(), number);
        self.ledger.insert(number, entry.clone());
        while self.ledger.len() > self.retention.usage_records {
            let Some((_, oldest)) = self.ledger.pop_first() else {
                break;
            };
            self.ledger_index.remove(&oldest.ledger_key);
        }
        Ok(())
    }

    fn query_usage(&self, query: &UsageQuery) -> StoreResult<Vec<UsageEntry>> {
        let matching = self.ledger.values().filter(|e| query.matches(e));
        let chosen: Vec<&UsageEntry> = if query.newest_first {
            matching.rev().take(query.limit).collect()
        } else {
            matching.take(query.limit).collect()
        };
        Ok(chosen.into_iter().cloned().collect())
    }

    fn usage_totals(
        &self,
        from: Instant,
        to: Instant,
        product_code: Option<&str>,
    ) -> StoreResult<Vec<UsageTotal>> {
        let mut totals: BTreeMap<[Option<String>; 5], UsageTotal> = BTreeMap::new();
        let chosen = self.ledger.values().filter(|e| {
            e.hour >= from && e.hour < to && product_code.is_none_or(|p| e.product_code == p)
        });
        for e in chosen {
            let key = [
                Some(e.product_code.clone()),
                e.customer_identifier.clone(),
                e.customer_aws_account_id.clone(),
                e.license_arn.clone(),
                Some(e.dimension.clone()),
            ];
            let total = totals.entry(key).or_insert_with(|| UsageTotal {
                product_code: e.product_code.clone(),
                customer_identifier: e.customer_identifier.clone(),
                customer_aws_account_id: e.customer_aws_account_id.clone(),
                license_arn: e.license_arn.clone(),
                dimension: e.dimension.clone(),
                micros: 0,
                records: 0,
            });
            total.micros += u128::from(e.quantity.micros());
            total.records += 1;
        }
        Ok(totals.into_values().collect())
    }

    fn client_token(&self, caller: &str, token: &str) -> StoreResult<Option<ClientTokenEntry>> {
        Ok(self.tokens.get(&(caller.into(), token.into())).cloned())
    }

    fn put_client_token(&mut self, entry: &ClientTokenEntry) -> StoreResult<()> {
        let key = (entry.caller.clone(), entry.token.clone());
        if self.tokens.insert(key.clone(), entry.clone()).is_none() {
            self.token_order.push_back(key);
        }
        while self.token_order.len() > self.retention.usage_records {
            let Some(oldest) = self.token_order.pop_front() else {
                break;
            };
            self.tokens.remove(&oldest);
        }
        Ok(())
    }

    fn append_event(&mut self, event: &EventRecord) -> StoreResult<u64> {
        let seq = next_number(&self.events);
        self.events.insert(
            seq,
            EventRecord {
                seq,
                ..event.clone()
            },
        );
        while self.events.len() > self.retention.events {
            self.events.pop_first();
        }
        Ok(seq)
    }

    fn update_event(&mut self, event: &EventRecord) -> StoreResult<()> {
        let slot = self
            .events
            .get_mut(&event.seq)
            .ok_or_else(|| StoreError(format!("no event {}", event.seq)))?;
        *slot = event.clone();
        Ok(())
    }

    fn events(&self, after: u64, limit: usize) -> StoreResult<Vec<EventRecord>> {
        Ok(self
            .events
            .range((Bound::Excluded(after), Bound::Unbounded))
            .map(|(_, e)| e)
            .take(limit)
            .cloned()
            .collect())
    }

    fn events_due(&self, now: Instant, limit: usize) -> StoreResult<Vec<EventRecord>> {
        Ok(self
            .events
            .values()
            .filter(|e| e.next_attempt_at().is_some_and(|at| at <= now))
            .take(limit)
            .cloned()
            .collect())
    }

    fn next_delivery_at(&self) -> StoreResult<Option<Instant>> {
        Ok(self
            .events
            .values()
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
        self.registrations.push_back(registration.clone());
        while self.registrations.len() > self.retention.registrations {
            self.registrations.pop_front();
        }
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

    fn registration_token(&self, key: &str) -> StoreResult<Option<String>> {
        Ok(self.registration_tokens.get(key).map(|(r, _, _)| r.clone()))
    }

    fn put_registration_token(
        &mut self,
        key: &str,
        record: &str,
        keep_until: Instant,
        now: Instant,
    ) -> StoreResult<()> {
        self.registration_tokens
            .retain(|_, (_, until, _)| *until >= now);
        let first = match self.registration_tokens.get(key) {
            Some((_, _, first)) => *first,
            None => {
                self.minted += 1;
                self.minted
            }
        };
        self.registration_tokens
            .insert(key.to_string(), (record.to_string(), keep_until, first));
        if self.registration_tokens.len() > MAX_REGISTRATION_TOKENS {
            let oldest = self
                .registration_tokens
                .iter()
                .min_by_key(|(_, (_, _, first))| *first)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                self.registration_tokens.remove(&oldest);
            }
        }
        Ok(())
    }

    fn append_journal(&mut self, entry: &JournalEntry) -> StoreResult<u64> {
        self.journal_numbered += 1;
        let seq = self.journal_numbered;
        self.journal.insert(
            seq,
            JournalEntry {
                seq,
                ..entry.clone()
            },
        );
        while self.journal.len() > self.retention.journal {
            self.journal.pop_first();
        }
        Ok(seq)
    }

    fn journal(&self, query: &JournalQuery) -> StoreResult<JournalPage> {
        let matching = || self.journal.values().rev().filter(|e| query.matches(e));
        Ok(JournalPage {
            total: matching().count(),
            entries: matching()
                .filter(|e| query.before.is_none_or(|b| e.seq < b))
                .take(query.limit)
                .cloned()
                .collect(),
        })
    }

    fn clear_journal(&mut self) -> StoreResult<usize> {
        let count = self.journal.len();
        self.journal.clear();
        Ok(count)
    }

    fn clear(&mut self) -> StoreResult<()> {
        // Journal numbers go on, as SQLite's AUTOINCREMENT does, so a cursor never repeats.
        let journal_numbered = self.journal_numbered;
        *self = MemoryStore::with_retention(self.retention);
        self.journal_numbered = journal_numbered;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::contract;
    use super::{MemoryStore, Retention};

    #[test]
    fn memory_store_passes_the_store_contract() {
        contract::run_all(MemoryStore::new);
    }

    #[test]
    fn memory_store_keeps_the_newest_entries_of_its_retention() {
        let small = Retention {
            events: 3,
            registrations: 2,
            usage_records: 4,
            journal: 3,
        };
        contract::run_retention_all(MemoryStore::with_retention, small);
        let one = Retention {
            events: 1,
            registrations: 1,
            usage_records: 1,
            journal: 1,
        };
        contract::run_retention_all(MemoryStore::with_retention, one);
    }

    #[test]
    fn a_bound_below_one_keeps_the_newest_entry() {
        let none = Retention {
            events: 0,
            registrations: 0,
            usage_records: 0,
            journal: 0,
        };
        contract::run_retention_all(MemoryStore::with_retention, none);
    }

    #[test]
    fn a_new_store_keeps_the_deployment_defaults() {
        assert_eq!(MemoryStore::new().retention, Retention::default());
    }
}
