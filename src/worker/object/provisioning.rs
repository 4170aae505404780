//! What a locked deployment's registry gives a namespace's object: its provisioning (kept in
//! the object's key-value storage), a rotation's removal of what the old credentials could
//! have planted, the last use it reports back, the wipe when it is deleted or expires, and
//! the refusal of a name that was never provisioned.

use worker::{Method, Request, RequestInit, Response, Result};

use super::step::in_transaction;
use super::{host_now, serve_in_memory, NamespaceObject};
use crate::control::rotation::{self, Keep, Removed};
use crate::policy::deployment::Deployment;
use crate::policy::json_error;
use crate::policy::secrets::Provision;
use crate::protocol::http::{HttpRequest, HttpResponse};
use crate::worker::runtime::{to_response, REGISTRY_BINDING, REGISTRY_NAME};

/// Storage keys (the object's key-value storage, beside its SQL tables) of what the
/// registry gives a provisioned namespace, and of when it was last used.
const PROVISION_KEY: &str = "provision";
const ACTIVITY_KEY: &str = "lastActivityAt";
/// `lastActivityAt` is written at most this often (it only needs day precision), and told
/// to the registry (for its listing) at most this often.
const ACTIVITY_WRITE_MS: i64 = 60_000;
const ACTIVITY_REPORT_MS: i64 = 3_600_000;
/// Paths the registry calls on a namespace's object; the entry never forwards them.
pub const REGISTRY_PREFIX: &str = "/_registry/";

impl NamespaceObject {
    /// A locked deployment's answer for a namespace that is not provisioned: the core refuses
    /// it before it reads anything.
    pub(super) fn refuse_unprovisioned(
        &self,
        deployment: &Deployment,
        name: &str,
        request: &HttpRequest,
    ) -> HttpResponse {
        serve_in_memory(name, request, deployment, None, None).response
    }

    pub(super) async fn provision(&self) -> Result<Option<Provision>> {
        if let Some(known) = self.provision.borrow().clone() {
            return Ok(known);
        }
        let stored: Option<Provision> = self.state.storage().get(PROVISION_KEY).await?;
        let mut cache = self.provision.borrow_mut();
        // Set while this read waited (a rotation, a wipe): that is the newer.
        if let Some(newer) = cache.clone() {
            return Ok(newer);
        }
        *cache = Some(stored.clone());
        Ok(stored)
    }

    pub(super) async fn last_activity(&self, provision: &Provision) -> Result<i64> {
        let stored: Option<i64> = self.state.storage().get(ACTIVITY_KEY).await?;
        Ok(stored.unwrap_or(provision.created_at))
    }

    /// Records a use by the namespace's owners (at most once a minute), and tells the
    /// registry at most once an hour, so its listing needs no call to every namespace.
    pub(super) async fn record_activity(&self, generation: u64) -> Result<()> {
        let now = host_now().millis();
        if now - self.activity_written.get() < ACTIVITY_WRITE_MS
            || self.generation.get() != generation
        {
            return Ok(());
        }
        self.activity_written.set(now);
        self.state.storage().put(ACTIVITY_KEY, now).await?;
        let provision = self.provision.borrow().clone().flatten();
        if let Some(p) =
            provision.filter(|_| now - self.activity_reported.get() >= ACTIVITY_REPORT_MS)
        {
            self.activity_reported.set(now);
            let path = format!("activity/{}?createdAt={}&at={now}", p.name, p.created_at);
            self.call_registry(&path).await;
        }
        Ok(())
    }

    /// Forgets everything of the namespace: its tables, its provisioning, its alarm.
    pub(super) async fn wipe(&self) -> Result<()> {
        self.generation.set(self.generation.get() + 1);
        let storage = self.state.storage();
        storage.delete_alarm().await?;
        storage.delete_all().await?;
        *self.store.borrow_mut() = None;
        *self.provision.borrow_mut() = Some(None);
        *self.rate.borrow_mut() = None;
        self.activity_written.set(0);
        self.activity_reported.set(0);
        Ok(())
    }

    pub(super) async fn tell_registry_expired(&self, p: &Provision) {
        self.call_registry(&format!("expired/{}?createdAt={}", p.name, p.created_at))
            .await;
    }

    /// A POST to the registry's `/_registry/<path>`; a failure is logged, not answered.
    async fn call_registry(&self, path: &str) {
        let call = async {
            let mut init = RequestInit::new();
            init.with_method(Method::Post);
            let request =
                Request::new_with_init(&format!("https://registry{REGISTRY_PREFIX}{path}"), &init)?;
            self.env
                .durable_object(REGISTRY_BINDING)?
                .id_from_name(REGISTRY_NAME)?
                .get_stub()?
                .fetch_with_request(request)
                .await
        };
        if let Err(e) = call.await {
            worker::console_error!("the registry call {path} failed: {e}");
        }
    }

    /// Removes what the old credentials could have planted (`rotation`), in one transaction;
    /// nothing to remove where no table was ever made.
    fn remove_planted(&self, keep: Keep) -> Result<Removed> {
        if !self.has_tables() {
            return Ok(Removed::default());
        }
        let store = self.take_store();
        let (store, removed) = in_transaction(&self.state, store, move |s| {
            rotation::remove_planted(s, keep).map_err(|e| e.to_string())
        })
        .ok_or_else(|| worker::Error::RustError("removing planted credentials panicked".into()))?;
        *self.store.borrow_mut() = Some(store);
        removed.map_err(worker::Error::RustError)
    }

    /// The registry's calls: `PUT /_registry/provision?create=1` (create), `PUT
    /// /_registry/provision?rotate=1&keep=…` (rotate: answers what it removed) and `DELETE
    /// /_registry/provision` (delete).
    pub(super) async fn registry_call(&self, mut req: Request) -> Result<Response> {
        let url = req.url()?;
        let action = &url.path()[REGISTRY_PREFIX.len()..];
        match (req.method(), action) {
            (Method::Put, "provision") => {
                let query = |name: &str| {
                    url.query_pairs()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.into_owned())
                };
                let (creation, rotation) = (query("create").is_some(), query("rotate").is_some());
                let keep = Keep::from_list(&query("keep").unwrap_or_default());
                let provision: Provision = req.json().await?;
                // A creation starts afresh even where a namespace of the name was left behind
                // (a registry that lost the object's answer forgot the name, not the object).
                let first = creation || self.provision().await?.is_none();
                let removed = if first {
                    // Whatever an open deployment (or a request before the admin token was
                    // set) left here must not come with the namespace: settings holding
                    // someone's keys, webhooks, products.
                    self.wipe().await?;
                    None
                } else if !rotation {
                    // A registry of an older version rotating: new credentials only.
                    Some(Removed::default())
                } else {
                    // A rotation assumes the old credentials leaked: what they could have
                    // planted goes first, so a failure leaves them (and it) in place.
                    Some(self.remove_planted(keep)?)
                };
                // The new credentials hold from here, before any await, so no request is
                // judged by the old ones from now on; one that read them and still waits is
                // judged again. (Should the write below fail, the admin's retry rotates anew.)
                *self.provision.borrow_mut() = Some(Some(provision.clone()));
                self.rotations.set(self.rotations.get() + 1);
                let storage = self.state.storage();
                storage.put(PROVISION_KEY, &provision).await?;
                if first {
                    storage.put(ACTIVITY_KEY, provision.created_at).await?;
                }
                self.schedule_alarm().await?;
                match removed {
                    Some(removed) => {
                        Response::from_json(&serde_json::json!({ "removed": removed }))
                    }
                    None => Response::empty(),
                }
            }
            (Method::Delete, "provision") => {
                self.wipe().await?;
                Response::empty()
            }
            _ => to_response(json_error(404, "no such registry call")),
        }
    }
}
