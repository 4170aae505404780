//! A namespace during one request: its name, its store (registration tokens included), the
//! host's time, an id source, the deployment's configuration and its provisioning; with what
//! every part of the core reads of it (its settings, clock, current time, incarnation) and
//! its initial state. Serving the request is `service`'s; the control API and webhook
//! delivery use this without depending on it.
//!
//! Imports the domain, the protocol's names, the store, the seed and the policy's
//! configuration types; never the service, control or the runtime.

use crate::domain::ids::IdSource;
use crate::domain::settings::{Clock, Settings};
use crate::domain::time::Instant;
use crate::error::ServiceError;
use crate::policy::deployment::Deployment;
use crate::policy::rate::TokenBucket;
use crate::policy::secrets::Provision;
use crate::protocol::route::DEFAULT_NAMESPACE;
use crate::seed;
use crate::store::{documents, Store};

/// A namespace during one request: its name, its store, the host's time, an id source, the
/// deployment's configuration and, in a locked deployment, its provisioning (credentials).
pub struct Namespace<'a, S: Store + ?Sized> {
    pub name: &'a str,
    pub store: &'a mut S,
    pub host_now: Instant,
    pub ids: &'a mut dyn IdSource,
    pub deployment: &'a Deployment,
    pub provision: Option<&'a Provision>,
    /// The namespace's request rate (locked deployments); `None` is unlimited.
    pub rate: Option<&'a mut TokenBucket>,
}

pub fn load_settings<S: Store + ?Sized>(store: &S) -> Result<Settings, ServiceError> {
    documents::load(store)
}

pub fn load_clock<S: Store + ?Sized>(store: &S) -> Result<Clock, ServiceError> {
    documents::load(store)
}

impl<S: Store + ?Sized> Namespace<'_, S> {
    /// The namespace's current time.
    pub fn now(&self) -> Result<Instant, ServiceError> {
        Ok(load_clock(self.store)?.now(self.host_now))
    }

    /// The namespace's incarnation: a fresh id at every (re)initialisation, which registration
    /// tokens carry so that a reset invalidates them.
    pub fn incarnation(&mut self) -> Result<String, ServiceError> {
        if let Some(id) = self.store.meta(documents::INCARNATION)? {
            return Ok(id);
        }
        let id = self.ids.next_uuid();
        self.store.put_meta(documents::INCARNATION, &id)?;
        Ok(id)
    }

    /// Gives a new (or just reset) namespace its initial state: the demo seed for `default`.
    pub fn initialize(&mut self) -> Result<(), ServiceError> {
        self.initialize_with(self.name == DEFAULT_NAMESPACE)
    }

    /// Gives the namespace its initial state, with the demo seed or empty.
    pub fn initialize_with(&mut self, demo_seed: bool) -> Result<(), ServiceError> {
        let incarnation = self.ids.next_uuid();
        self.store.put_meta(documents::INCARNATION, &incarnation)?;
        if demo_seed {
            seed::apply(self.store)?;
        }
        self.store.put_meta(documents::INITIALIZED, "1")?;
        Ok(())
    }
}
