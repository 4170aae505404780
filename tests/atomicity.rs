//! Every request is all-or-nothing: for each operation and control action that writes, the
//! N-th write of the store fails, for every N. The core must then never answer a success
//! (it saw its write fail), and the store reports the failure whatever the code did with the
//! error, so the host rolls the request back (the worker does it with SQLite's
//! `transactionSync`; this host with a snapshot) and answers a retryable 500.

mod common;

use std::cell::Cell;
use std::rc::Rc;

use common::{at, secs, NOW};
use metering_mock::domain::bill::UsageTotal;
use metering_mock::domain::catalogue::Product;
use metering_mock::domain::ids::SequentialIds;
use metering_mock::domain::notification::EventRecord;
use metering_mock::domain::time::Instant;
use metering_mock::namespace::Namespace;
use metering_mock::policy::deployment::Deployment;
use metering_mock::protocol::http::{HttpRequest, HttpResponse};
use metering_mock::service;
use metering_mock::store::journal::{JournalEntry, JournalPage, JournalQuery};
use metering_mock::store::memory::MemoryStore;
use metering_mock::store::{
    ClientTokenEntry, Registration, Store, StoreError, StoreResult, UsageEntry, UsageQuery,
};
use serde_json::{json, Value};

/// A memory store whose `fail_at`-th write fails (and says so through `take_failure`).
#[derive(Default)]
struct FailingStore {
    inner: MemoryStore,
    writes: Cell<usize>,
    fail_at: Option<usize>,
    failed: Cell<bool>,
}

impl FailingStore {
    fn write(&self) -> StoreResult<()> {
        let n = self.writes.get() + 1;
        self.writes.set(n);
        if Some(n) == self.fail_at {
            self.failed.set(true);
            return Err(StoreError(format!("write {n} fails (injected)")));
        }
        Ok(())
    }
}

impl Store for FailingStore {
    fn meta(&self, key: &str) -> StoreResult<Option<String>> {
        self.inner.meta(key)
    }
    fn put_meta(&mut self, key: &str, value: &str) -> StoreResult<()> {
        self.write()?;
        self.inner.put_meta(key, value)
    }
    fn forget_meta_before(&mut self, prefix: &str, before: &str) -> StoreResult<()> {
        self.write()?;
        self.inner.forget_meta_before(prefix, before)
    }
    fn product(&self, code: &str) -> StoreResult<Option<std::rc::Rc<Product>>> {
        self.inner.product(code)
    }
    fn products(&self) -> StoreResult<Vec<Rc<Product>>> {
        self.inner.products()
    }
    fn put_product(&mut self, product: &Product) -> StoreResult<()> {
        self.write()?;
        self.inner.put_product(product)
    }
    fn delete_product(&mut self, code: &str) -> StoreResult<bool> {
        self.write()?;
        self.inner.delete_product(code)
    }
    fn usage_by_key(&self, hour: Instant, key: &str) -> StoreResult<Option<UsageEntry>> {
        self.inner.usage_by_key(hour, key)
    }
    fn insert_usage(&mut self, entry: &UsageEntry) -> StoreResult<()> {
        self.write()?;
        self.inner.insert_usage(entry)
    }
    fn query_usage(&self, query: &UsageQuery) -> StoreResult<Vec<UsageEntry>> {
        self.inner.query_usage(query)
    }
    fn client_token(&self, caller: &str, token: &str) -> StoreResult<Option<ClientTokenEntry>> {
        self.inner.client_token(caller, token)
    }
    fn put_client_token(&mut self, entry: &ClientTokenEntry) -> StoreResult<()> {
        self.write()?;
        self.inner.put_client_token(entry)
    }
    fn append_event(&mut self, event: &EventRecord) -> StoreResult<u64> {
        self.write()?;
        self.inner.append_event(event)
    }
    fn update_event(&mut self, event: &EventRecord) -> StoreResult<()> {
        self.write()?;
        self.inner.update_event(event)
    }
    fn events(&self, after: u64, limit: usize) -> StoreResult<Vec<EventRecord>> {
        self.inner.events(after, limit)
    }
    fn events_due(
        &self,
        now: metering_mock::domain::time::Instant,
        limit: usize,
    ) -> StoreResult<Vec<EventRecord>> {
        self.inner.events_due(now, limit)
    }
    fn next_delivery_at(&self) -> StoreResult<Option<metering_mock::domain::time::Instant>> {
        self.inner.next_delivery_at()
    }
    fn registration_token(&self, key: &str) -> StoreResult<Option<String>> {
        self.inner.registration_token(key)
    }
    fn put_registration_token(
        &mut self,
        key: &str,
        record: &str,
        keep_until: metering_mock::domain::time::Instant,
        now: metering_mock::domain::time::Instant,
    ) -> StoreResult<()> {
        self.write()?;
        self.inner
            .put_registration_token(key, record, keep_until, now)
    }
    fn registration(&self, key: &str) -> StoreResult<Option<Registration>> {
        self.inner.registration(key)
    }
    fn insert_registration(&mut self, r: &Registration) -> StoreResult<()> {
        self.write()?;
        self.inner.insert_registration(r)
    }
    fn registrations(&self, product: Option<&str>, limit: usize) -> StoreResult<Vec<Registration>> {
        self.inner.registrations(product, limit)
    }
    fn usage_totals(
        &self,
        from: Instant,
        to: Instant,
        product_code: Option<&str>,
    ) -> StoreResult<Vec<UsageTotal>> {
        self.inner.usage_totals(from, to, product_code)
    }
    fn append_journal(&mut self, entry: &JournalEntry) -> StoreResult<u64> {
        self.write()?;
        self.inner.append_journal(entry)
    }
    fn journal(&self, query: &JournalQuery) -> StoreResult<JournalPage> {
        self.inner.journal(query)
    }
    fn clear_journal(&mut self) -> StoreResult<usize> {
        self.write()?;
        self.inner.clear_journal()
    }
    fn clear(&mut self) -> StoreResult<()> {
        self.write()?;
        self.inner.clear()
    }
    fn take_failure(&self) -> bool {
        self.failed.replace(false)
    }
}

/// One namespace over a failing store, its host rolling a failed request back.
struct Host {
    store: FailingStore,
    ids: SequentialIds,
}

/// What a request did: the core's own answer, whether a write failed, the host's answer.
struct Outcome {
    core: HttpResponse,
    failed: bool,
    answer: HttpResponse,
}

impl Host {
    fn new() -> Host {
        Host {
            store: FailingStore::default(),
            ids: SequentialIds::default(),
        }
    }

    fn send(&mut self, req: &HttpRequest) -> Outcome {
        let before = self.store.inner.clone();
        let deployment = Deployment::default();
        let core = Namespace {
            name: "default",
            store: &mut self.store,
            host_now: at(NOW),
            ids: &mut self.ids,
            deployment: &deployment,
            provision: None,
            rate: None,
        }
        .handle(req);
        let failed = self.store.take_failure();
        let answer = if failed {
            self.store.inner = before;
            service::rolled_back(
                &req.method,
                &req.path,
                req.header("x-amz-target"),
                "rid",
                None,
            )
        } else {
            core.clone()
        };
        Outcome {
            core,
            failed,
            answer,
        }
    }
}

fn aws(operation: &str, input: Value) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        path: "/".into(),
        headers: vec![
            ("Authorization".into(), "AWS4-HMAC-SHA256 Credential=test/20260310/us-east-1/aws-marketplace/aws4_request, SignedHeaders=host;x-amz-date, Signature=00".into()),
            ("X-Amz-Date".into(), "20260310T123000Z".into()),
            ("X-Amz-Target".into(), format!("AWSMPMeteringService.{operation}")),
            ("Content-Type".into(), "application/x-amz-json-1.1".into()),
        ],
        body: input.to_string().into_bytes(),
        ..Default::default()
    }
}

fn control(method: &str, path_and_query: &str, body: Option<Value>) -> HttpRequest {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    HttpRequest {
        method: method.into(),
        path: format!("/_mock{path}"),
        query: query.into(),
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
        ..Default::default()
    }
}

/// The requests that write, each after the set-up it needs (the `default` namespace's seed).
fn scenarios() -> Vec<(&'static str, Vec<HttpRequest>, HttpRequest)> {
    let now = secs(NOW);
    let product = "demo-saas-product";
    let meter = json!({"ProductCode": "demo-ami-product", "Timestamp": now, "UsageDimension": "hosts", "UsageQuantity": 1, "ClientToken": "t-1"});
    let batch = json!({"ProductCode": product, "UsageRecords": [
        {"Timestamp": now, "CustomerIdentifier": "demo-customer-1", "Dimension": "users", "Quantity": 2},
        {"Timestamp": now, "CustomerIdentifier": "demo-customer-2", "Dimension": "users", "Quantity": 3}]});
    let customer = json!({"productCode": product, "customerIdentifier": "demo-customer-1"});
    let mint = control("POST", "/registration-tokens", Some(customer.clone()));
    vec![
        ("MeterUsage", vec![], aws("MeterUsage", meter)),
        ("BatchMeterUsage", vec![], aws("BatchMeterUsage", batch)),
        ("RegisterUsage", vec![], aws("RegisterUsage", json!({"ProductCode": "demo-container-product", "PublicKeyVersion": 1, "Nonce": "n-1"}))),
        ("mint a token", vec![], mint.clone()),
        ("put a product", vec![], control("POST", "/products", Some(json!({"productCode": "p", "dimensions": ["d"], "customers": [{"customerIdentifier": "c"}]})))),
        ("delete a product", vec![], control("DELETE", &format!("/products/{product}"), None)),
        ("patch settings", vec![], control("PATCH", "/settings", Some(json!({"maxFutureSeconds": 60})))),
        ("set the clock", vec![], control("PUT", "/clock", Some(json!({"offsetSeconds": 60})))),
        ("queue a fault", vec![], control("POST", "/faults", Some(json!({"operation": "MeterUsage", "error": "ThrottlingException"})))),
        ("reset", vec![], control("POST", "/reset", None)),
        ("seed", vec![], control("POST", "/seed", Some(json!({"products": [{"productCode": "s1", "dimensions": ["d"]}, {"productCode": "s2", "dimensions": ["d"]}], "settings": {"maxFutureSeconds": 60}})))),
        ("lifecycle", vec![], control("POST", "/subscriptions", Some(json!({"productCode": product, "customerIdentifier": "demo-customer-1", "action": "unsubscribe-pending"})))),
        ("entitlements", vec![], control("PUT", "/entitlements", Some(json!({"productCode": product, "customerIdentifier": "demo-customer-1", "entitlements": [{"dimension": "users", "value": {"integerValue": 5}}]})))),
        ("sign-up", vec![], control("POST", &format!("/marketplace/subscribe?productCode={product}&fulfillmentUrl=http://127.0.0.1:9/r&format=json"), None)),
        ("rotate keys", vec![], control("POST", "/keys/rotate", None)),
    ]
    .into_iter()
    .chain(std::iter::once(("ResolveCustomer", vec![mint], HttpRequest::default())))
    .collect()
}

/// Sets up a host, runs `setup`, and returns it ready for the request under test.
fn prepared(setup: &[HttpRequest]) -> (Host, Vec<HttpRequest>) {
    let mut host = Host::new();
    // The first request initialises the namespace (the demo seed).
    host.send(&control("GET", "/health", None));
    let mut extra = Vec::new();
    for req in setup {
        let out = host.send(req);
        assert!(
            out.answer.status < 300,
            "set-up failed: {:?}",
            out.answer.json_body()
        );
        // A minted token is resolved by the request under test.
        if let Some(token) = out.answer.json_body()["registrationToken"].as_str() {
            extra.push(aws(
                "ResolveCustomer",
                json!({ "RegistrationToken": token }),
            ));
        }
    }
    (host, extra)
}

#[test]
fn a_failed_write_at_any_point_is_never_answered_as_a_success() {
    for (name, setup, request) in scenarios() {
        let mut writes_seen = 0;
        for n in 1.. {
            let (mut host, extra) = prepared(&setup);
            let request = extra.into_iter().next().unwrap_or_else(|| request.clone());
            host.store.writes.set(0);
            host.store.fail_at = Some(n);
            let out = host.send(&request);
            if !out.failed {
                assert!(
                    out.answer.status < 300,
                    "{name}: with no failure it must succeed: {} {:?}",
                    out.answer.status,
                    out.answer.json_body()
                );
                assert!(n > 1, "{name} writes nothing");
                break;
            }
            writes_seen = n;
            assert!(
                out.core.status >= 400,
                "{name}: write {n} failed but the core answered {} {:?}",
                out.core.status,
                out.core.json_body()
            );
            assert_eq!(out.answer.status, 500, "{name}: write {n}");
        }
        assert!(writes_seen >= 1, "{name}");
    }
}
