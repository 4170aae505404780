//! One request's step: the core's `Namespace::serve` run synchronously over the SQLite
//! store inside `transactionSync`, so a decision and its writes commit together or not at
//! all; and the ids and keys it draws from the runtime's random source and WebCrypto.

use std::cell::RefCell;
use std::rc::Rc;

use worker::js_sys;
use worker::wasm_bindgen::closure::Closure;
use worker::wasm_bindgen::prelude::wasm_bindgen;
use worker::wasm_bindgen::{self, JsCast, JsValue};
use worker::State;

use super::host_now;
use super::signing::PendingSignature;
use super::SqlStore;
use crate::domain::ids::{seeded_signing_key, IdSource};
use crate::domain::signing::{signing_input, Claims, KeyError, SigningKey};
use crate::namespace::Namespace;
use crate::policy::deployment::Deployment;
use crate::policy::rate::TokenBucket;
use crate::policy::secrets::Provision;
use crate::protocol::http::{HttpRequest, HttpResponse};
use crate::store::Store;
use crate::worker::runtime::{random_uuid, try_random_uuid};
use crate::worker::sql_store::InjectedFault;

/// Everything one request's synchronous step needs, owned, so that it can run inside the
/// runtime's `transactionSync` callback.
pub(super) struct Step {
    pub(super) store: SqlStore,
    pub(super) name: String,
    pub(super) request: HttpRequest,
    pub(super) deployment: Deployment,
    pub(super) provision: Option<Provision>,
    pub(super) spare_keys: Vec<Vec<u8>>,
    pub(super) bucket: Option<TokenBucket>,
    pub(super) response: Option<HttpResponse>,
    /// The request carried the namespace's credential (counts as its use).
    pub(super) credited: bool,
    pub(super) random_failed: bool,
    /// Why the step was rolled back when a retry would meet the same failure.
    pub(super) permanent_failure: Option<String>,
    /// RegisterUsage signatures to make once the step has committed.
    pub(super) pending_signatures: Vec<PendingSignature>,
}

impl Step {
    fn run(&mut self) {
        // A failure from before the step (the plan's reads, an alarm) is not this request's.
        if self.store.take_failure() {
            worker::console_error!("a store failure outside a request's step was dropped");
        }
        self.store.take_permanent_failure();
        let mut ids = RandomIds {
            spare_keys: std::mem::take(&mut self.spare_keys),
            failed: false,
            deferred: Some(Vec::new()),
        };
        let fail_write = self
            .deployment
            .storage_faults
            .then(|| InjectedFault::parse(self.request.header("x-mock-fail-write")?))
            .flatten();
        self.store.fail_write(fail_write);
        let served = Namespace {
            name: &self.name,
            store: &mut self.store,
            host_now: host_now(),
            ids: &mut ids,
            deployment: &self.deployment,
            provision: self.provision.as_ref(),
            rate: self.bucket.as_mut(),
        }
        .serve(&self.request);
        self.store.fail_write(None);
        self.response = Some(served.response);
        self.credited = served.credited;
        self.random_failed = ids.failed;
        self.pending_signatures = ids.deferred.unwrap_or_default();
    }

    /// Whether the step must be rolled back: a statement or the random source failed.
    fn failed(&mut self) -> bool {
        self.permanent_failure = self.store.take_permanent_failure();
        self.store.take_failure() || self.random_failed
    }
}

#[wasm_bindgen]
extern "C" {
    /// The object's storage, for the method the worker crate does not bind.
    type TransactionalStorage;

    /// Runs `body` in one SQLite transaction, rolled back if it throws; `Err` is what it
    /// threw (or that the method is missing).
    #[wasm_bindgen(method, catch, js_name = transactionSync)]
    fn transaction_sync(
        this: &TransactionalStorage,
        body: &js_sys::Function,
    ) -> Result<JsValue, JsValue>;
}

/// Runs the step in one SQLite transaction (`transactionSync`): if a statement failed, it
/// throws, and the runtime rolls every write of the step back. Answers the step and whether
/// its writes were committed (a step that could not be run in a transaction is not run);
/// `None` if the step panicked (rolled back too, but the step cannot be taken back).
pub(super) fn atomically(state: &State, step: Step) -> Option<(Step, bool)> {
    let Ok(storage) = state.as_raw().storage() else {
        return Some((step, false));
    };
    let storage: TransactionalStorage = storage.unchecked_into();
    let shared = Rc::new(RefCell::new(Some(step)));
    let inner = Rc::clone(&shared);
    let body = Closure::once(move || -> Result<JsValue, JsValue> {
        let failed = match inner.borrow_mut().as_mut() {
            Some(step) => {
                step.run();
                step.failed()
            }
            None => true,
        };
        if failed {
            Err(JsValue::from_str(
                "a write or the random source failed: the request is rolled back",
            ))
        } else {
            Ok(JsValue::UNDEFINED)
        }
    });
    let outcome = storage.transaction_sync(body.as_ref().unchecked_ref());
    drop(body);
    // A panic inside the callback leaves the step borrowed.
    let step = shared.try_borrow_mut().ok()?.take()?;
    if let (Err(e), None) = (&outcome, &step.response) {
        worker::console_error!("the step could not be run in a transaction: {e:?}");
    }
    Some((step, outcome.is_ok()))
}

/// The store while `in_transaction` lends it, and what the body answered.
type InTransaction<T> = (Option<SqlStore>, Option<Result<T, String>>);

/// Runs `body` over `store` in one SQLite transaction, rolled back when a statement failed or
/// `body` answers `Err`; gives the store back with the outcome (`None`: it panicked, and the
/// store is dropped).
pub(super) fn in_transaction<T: 'static>(
    state: &State,
    store: SqlStore,
    body: impl FnOnce(&mut SqlStore) -> Result<T, String> + 'static,
) -> Option<(SqlStore, Result<T, String>)> {
    let Ok(storage) = state.as_raw().storage() else {
        return Some((store, Err("the object has no storage".into())));
    };
    let storage: TransactionalStorage = storage.unchecked_into();
    let shared: Rc<RefCell<InTransaction<T>>> = Rc::new(RefCell::new((Some(store), None)));
    let inner = Rc::clone(&shared);
    let callback = Closure::once(move || -> Result<JsValue, JsValue> {
        let mut cell = inner.borrow_mut();
        let (store, outcome) = &mut *cell;
        let Some(store) = store.as_mut() else {
            return Err(JsValue::from_str("no store"));
        };
        // A failure from before (an alarm's, a journal fill-in's) is not this body's.
        store.take_failure();
        store.take_permanent_failure();
        let answer = body(store);
        let failed = store.take_failure() || answer.is_err();
        *outcome = Some(answer);
        if failed {
            Err(JsValue::from_str("a write failed: rolled back"))
        } else {
            Ok(JsValue::UNDEFINED)
        }
    });
    let thrown = storage.transaction_sync(callback.as_ref().unchecked_ref());
    drop(callback);
    // A panic inside the callback leaves the cell borrowed.
    let (store, outcome) = std::mem::take(&mut *shared.try_borrow_mut().ok()?);
    let store = store?;
    let outcome = match (outcome, thrown) {
        (Some(Ok(_)), Err(e)) => Err(format!("the transaction failed: {e:?}")),
        (Some(answer), _) => answer,
        (None, _) => Err("the transaction could not be run".into()),
    };
    if outcome.is_err() {
        store.forget_cached();
    }
    Some((store, outcome))
}

/// UUIDs and seeds from the runtime's cryptographic random source, and the signing keys
/// WebCrypto made for this request, if it may need some.
pub(super) struct RandomIds {
    spare_keys: Vec<Vec<u8>>,
    /// Set when the random source failed: the request is then rolled back, since ids and
    /// tokens must not be guessable.
    failed: bool,
    /// RegisterUsage signatures left to WebCrypto after the step (`None`: sign in Rust).
    deferred: Option<Vec<PendingSignature>>,
}

impl RandomIds {
    /// Ids for a request that makes no key ahead and signs, if ever, in Rust.
    pub(super) fn signing_in_rust() -> RandomIds {
        RandomIds {
            spare_keys: Vec::new(),
            failed: false,
            deferred: None,
        }
    }
}

impl IdSource for RandomIds {
    fn next_uuid(&mut self) -> String {
        try_random_uuid().unwrap_or_else(|| {
            self.failed = true;
            random_uuid()
        })
    }

    fn request_id(&mut self) -> String {
        random_uuid()
    }

    fn random_seed(&mut self) -> Option<[u8; 32]> {
        let mut seed = [0u8; 32];
        let got = getrandom::getrandom(&mut seed).ok().map(|_| seed);
        self.failed |= got.is_none();
        got
    }

    fn new_signing_key(&mut self) -> std::result::Result<Vec<u8>, KeyError> {
        match self.spare_keys.pop() {
            Some(der) => Ok(der),
            None => seeded_signing_key(self),
        }
    }

    fn sign(&mut self, key: &SigningKey, claims: &Claims) -> std::result::Result<String, KeyError> {
        let Some(deferred) = self.deferred.as_mut() else {
            return key.sign(claims);
        };
        let placeholder = format!("metering-mock-pending-signature-{}", random_uuid());
        deferred.push(PendingSignature {
            placeholder: placeholder.clone(),
            signing_input: signing_input(claims)?,
            pkcs8: key.private_pkcs8_der()?,
            key: key.clone(),
            claims: claims.clone(),
        });
        Ok(placeholder)
    }
}
