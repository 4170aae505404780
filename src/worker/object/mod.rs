//! The Durable Object of one namespace: the single writer of its catalogue, ledger,
//! settings and event log. A request goes: read it (here), make the signing keys it may
//! need (`signing`), run it as one step in one SQLite transaction (`step`), answer, then set
//! the alarm (`alarm`: webhook deliveries, idle expiry). In a locked deployment the object
//! also keeps what the registry provisioned and its request rate (`provisioning`).

mod alarm;
mod provisioning;
mod signing;
mod step;

use std::cell::{Cell, RefCell};

use worker::{durable_object, js_sys, DurableObject, Env, Request, Response, Result, State};

use self::provisioning::REGISTRY_PREFIX;
use self::signing::{complete_signatures, webcrypto_signing_key};
use self::step::{atomically, RandomIds, Step};
use super::runtime::{deployment, random_uuid, to_response};
use super::sql_store::SqlStore;
use crate::domain::time::Instant;
use crate::policy::deployment::Deployment;
use crate::policy::rate::TokenBucket;
use crate::policy::routes::{self, Access};
use crate::policy::secrets::Provision;
use crate::protocol::http::{HttpRequest, HttpResponse};
use crate::protocol::route;
use crate::service;
use crate::store::memory::MemoryStore;

#[durable_object]
pub struct NamespaceObject {
    state: State,
    env: Env,
    /// Opened on first use, so a stranger's request to a name that was never provisioned
    /// creates no table.
    store: RefCell<Option<SqlStore>>,
    /// What the registry provisioned (`Some(None)`: read, and there is none).
    provision: RefCell<Option<Option<Provision>>>,
    /// When `lastActivityAt` was last written, and last reported to the registry (0: never
    /// in this instance).
    activity_written: Cell<i64>,
    activity_reported: Cell<i64>,
    rate: RefCell<Option<TokenBucket>>,
    /// Counts wipes: a request or an alarm that awaited across one must not write.
    generation: Cell<u64>,
    /// Counts rotations: a request that awaited across one is judged by the new credentials.
    rotations: Cell<u64>,
}

fn host_now() -> Instant {
    Instant(js_sys::Date::now() as i64)
}

impl DurableObject for NamespaceObject {
    fn new(state: State, env: Env) -> Self {
        NamespaceObject {
            state,
            env,
            store: RefCell::new(None),
            provision: RefCell::new(None),
            activity_written: Cell::new(0),
            activity_reported: Cell::new(0),
            rate: RefCell::new(None),
            generation: Cell::new(0),
            rotations: Cell::new(0),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let url = req.url()?;
        if url.path().starts_with(REGISTRY_PREFIX) {
            return self.registry_call(req).await;
        }
        let deployment = deployment(&self.env).map_err(worker::Error::RustError)?;
        let routed = route::split(url.path()).map_err(worker::Error::RustError)?;
        let request = HttpRequest {
            // The method as sent: the worker crate maps methods it does not know to GET.
            method: req.inner().method(),
            path: routed.path,
            full_path: url.path().to_string(),
            query: url.query().unwrap_or_default().to_string(),
            headers: req.headers().entries().collect(),
            body: req.bytes().await?,
        };
        let name = routed.namespace;
        let (generation, rotations) = (self.generation.get(), self.rotations.get());
        // Only a locked deployment provisions (the first read of the object's key-value
        // storage makes its table, which a read of an open namespace must not).
        let mut provision = match deployment.locked() {
            true => self.provision().await?,
            false => None,
        };
        if deployment.locked() && provision.is_none() {
            return to_response(self.refuse_unprovisioned(&deployment, name, &request));
        }
        if is_read_of_control(&request) && !self.has_tables() {
            let provisioned = provision.is_some();
            let served = self.read_initial_state(name, &request, deployment, provision);
            // The owners' reads count as use (the idle expiry), as every step's do.
            self.after_commit(served.credited && provisioned, generation)
                .await;
            return to_response(served.response);
        }
        let spare_keys = self
            .keys_ahead(name, &request, &deployment, provision.as_ref())
            .await;
        if self.generation.get() != generation || self.rotations.get() != rotations {
            // Deleted, expired or rotated while this request waited: it is judged by what is
            // provisioned now (no `await` from here to its step).
            provision = self.provision.borrow().clone().flatten();
            if deployment.locked() && provision.is_none() {
                return to_response(self.refuse_unprovisioned(&deployment, name, &request));
            }
        }
        // From here to the response there is no `await`: the request is one atomic step, run
        // in one SQLite transaction that a failed write rolls back whole.
        let step = self.step(name, request, deployment, provision.clone(), spare_keys);
        let (method, path) = (step.request.method.clone(), step.request.path.clone());
        let target = step.request.header("x-amz-target").map(str::to_string);
        let Some((step, committed)) = atomically(&self.state, step) else {
            // The step panicked: its writes were rolled back with the transaction, and the
            // store is reopened by the next request.
            return to_response(service::rolled_back(
                &method,
                &path,
                target.as_deref(),
                &random_uuid(),
                None,
            ));
        };
        let credited = step.credited && committed;
        let response = self.finish(step, committed).await;
        // The request's state is saved by now: what follows must not turn it into an error
        // the client would retry (a second sign-up, a second event).
        self.after_commit(credited && provision.is_some(), generation)
            .await;
        to_response(response)
    }

    async fn alarm(&self) -> Result<Response> {
        self.ring().await
    }
}

/// A `GET` or `HEAD` of the control API or a public page (the AWS APIs' reads are kept in the
/// journal, so they are steps like any call).
fn is_read_of_control(request: &HttpRequest) -> bool {
    matches!(request.method.as_str(), "GET" | "HEAD")
        && routes::find(&request.method, request.signed_path())
            .is_ok_and(|found| matches!(found.access, Access::Namespace | Access::Public))
}

/// The namespace serving `request` over a store that is dropped afterwards: its initial
/// state (the demo seed of `default`), written nowhere.
fn serve_in_memory(
    name: &str,
    request: &HttpRequest,
    deployment: &Deployment,
    provision: Option<&Provision>,
    rate: Option<&mut TokenBucket>,
) -> service::Served {
    let mut ids = RandomIds::signing_in_rust();
    crate::namespace::Namespace {
        name,
        store: &mut MemoryStore::new(),
        host_now: host_now(),
        ids: &mut ids,
        deployment,
        provision,
        rate,
    }
    .serve(request)
}

impl NamespaceObject {
    /// A read of a namespace that never stored anything: answered from its initial state in
    /// memory, so a read makes no table and writes nothing.
    fn read_initial_state(
        &self,
        name: &str,
        request: &HttpRequest,
        deployment: Deployment,
        provision: Option<Provision>,
    ) -> service::Served {
        let mut bucket = self.rate_bucket(&deployment);
        let served = serve_in_memory(
            name,
            request,
            &deployment,
            provision.as_ref(),
            bucket.as_mut(),
        );
        *self.rate.borrow_mut() = bucket;
        served
    }

    /// A locked deployment's request-rate bucket, out of the object for one request.
    fn rate_bucket(&self, deployment: &Deployment) -> Option<TokenBucket> {
        deployment.locked().then(|| {
            let now = host_now().millis();
            let bucket = self.rate.borrow_mut().take();
            bucket
                .unwrap_or_else(|| TokenBucket::new(deployment.rate, now))
                .with_limit(deployment.rate)
        })
    }

    /// The SQLite store, its schema made on first use, or made again if that failed.
    fn open_store(&self) -> std::cell::RefMut<'_, Option<SqlStore>> {
        let mut store = self.store.borrow_mut();
        if store.as_ref().is_none_or(SqlStore::is_broken) {
            *store = Some(self.new_store());
        }
        store
    }

    fn new_store(&self) -> SqlStore {
        let retention = deployment(&self.env)
            .map(|d| d.limits.retention())
            .unwrap_or_default();
        SqlStore::open(self.state.storage().sql(), retention)
    }

    /// The store, out of its cell for one step (which puts it back).
    fn take_store(&self) -> SqlStore {
        let opened = self.open_store().take();
        opened.unwrap_or_else(|| self.new_store())
    }

    /// Whether the store was ever opened here or before (its tables exist).
    fn has_tables(&self) -> bool {
        self.store.borrow().is_some()
            || self
                .state
                .storage()
                .sql()
                .exec("SELECT name FROM sqlite_master WHERE name = 'meta'", None)
                .and_then(|c| c.to_array::<serde_json::Value>())
                .is_ok_and(|rows| !rows.is_empty())
    }

    /// Signing keys the request may need, made by WebCrypto before its step (which cannot
    /// await); none for a request the namespace's rate is about to refuse.
    async fn keys_ahead(
        &self,
        name: &str,
        request: &HttpRequest,
        deployment: &Deployment,
        provision: Option<&Provision>,
    ) -> Vec<Vec<u8>> {
        let wanted = {
            let store = self.open_store();
            service::signing_keys_ahead(
                store.as_ref().expect("opened"),
                name,
                request,
                deployment,
                provision,
                host_now(),
            )
        };
        let over_rate = self
            .rate
            .borrow()
            .as_ref()
            .is_some_and(|bucket| !bucket.has_room(host_now().millis()));
        let mut keys = Vec::new();
        for _ in 0..if over_rate { 0 } else { wanted } {
            match webcrypto_signing_key().await {
                Ok(der) => keys.push(der),
                Err(e) => {
                    worker::console_error!(
                        "WebCrypto key generation failed, generating in wasm: {e}"
                    );
                    break;
                }
            }
        }
        keys
    }

    /// The request's step, with the store and the rate bucket taken out of the object for it.
    fn step(
        &self,
        name: &str,
        request: HttpRequest,
        deployment: Deployment,
        provision: Option<Provision>,
        spare_keys: Vec<Vec<u8>>,
    ) -> Step {
        let bucket = self.rate_bucket(&deployment);
        Step {
            store: self.take_store(),
            name: name.to_string(),
            request,
            deployment,
            provision,
            spare_keys,
            bucket,
            response: None,
            credited: false,
            random_failed: false,
            permanent_failure: None,
            pending_signatures: Vec::new(),
        }
    }

    /// Puts the store and the rate bucket back and makes the answer: the step's if it
    /// committed (with its RegisterUsage signatures made), else the rolled-back one.
    async fn finish(&self, step: Step, committed: bool) -> HttpResponse {
        let Step {
            store,
            request,
            deployment,
            bucket,
            response,
            pending_signatures,
            permanent_failure,
            ..
        } = step;
        *self.rate.borrow_mut() = bucket;
        let request_id = response
            .as_ref()
            .and_then(|r| r.header("x-amzn-RequestId"))
            .map(str::to_string)
            .unwrap_or_else(random_uuid);
        let response = match response {
            Some(response) if committed => response,
            _ => {
                store.forget_cached();
                let target = request.header("x-amz-target");
                service::rolled_back(
                    &request.method,
                    &request.path,
                    target,
                    &request_id,
                    permanent_failure.as_deref(),
                )
            }
        };
        *self.store.borrow_mut() = Some(store);
        if !committed || pending_signatures.is_empty() {
            return response;
        }
        // The mock's own tests of the fallback: signing as if WebCrypto had failed.
        let without_webcrypto =
            deployment.storage_faults && request.header("x-mock-fail-webcrypto").is_some();
        let (response, filled) = complete_signatures(
            response,
            pending_signatures,
            &request.path,
            without_webcrypto,
        )
        .await;
        if let Some(store) = self.store.borrow().as_ref() {
            for (placeholder, outcome) in filled {
                if let Err(e) = store.fill_in_journal(&placeholder, outcome) {
                    worker::console_error!("the journal kept a signature's placeholder: {e}");
                }
            }
        }
        response
    }

    /// After a request: wakes the delivery alarm if it appended events, and records a
    /// provisioned namespace's use by its owners.
    async fn after_commit(&self, owners_used_it: bool, generation: u64) {
        let appended = self
            .store
            .borrow()
            .as_ref()
            .is_some_and(|s| s.take_appended_events());
        if appended {
            if let Err(e) = self.schedule_alarm().await {
                worker::console_error!("setting the alarm failed: {e}");
            }
        }
        if owners_used_it {
            if let Err(e) = self.record_activity(generation).await {
                worker::console_error!("recording the namespace's activity failed: {e}");
            }
        }
    }
}
