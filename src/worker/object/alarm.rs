//! The object's alarm: a provisioned namespace's idle expiry, the agreement milestones the
//! running namespace clock has reached, and the rounds of webhook deliveries, each attempt
//! recorded as soon as it is answered.

use futures_util::{stream, StreamExt};
use worker::{
    js_sys, web_sys, AbortSignal, Fetch, Headers, Method, Request, RequestInit, RequestRedirect,
    Response, Result, ScheduledTime,
};

use super::step::RandomIds;
use super::{host_now, NamespaceObject};
use crate::admin;
use crate::delivery::{self, DueDelivery};
use crate::namespace::{load_clock, load_settings};
use crate::ops::agreement::milestones;
use crate::policy::outbound;
use crate::worker::runtime::deployment;

/// How long a webhook may take to answer before the attempt counts as failed.
const WEBHOOK_TIMEOUT_MS: u32 = 10_000;

impl NamespaceObject {
    /// What the alarm does when it rings: expire an idle provisioned namespace, or send the
    /// webhook deliveries that are due, then set the alarm again.
    pub(super) async fn ring(&self) -> Result<Response> {
        let deployment = deployment(&self.env).map_err(worker::Error::RustError)?;
        let day_ms = deployment.idle_day_ms;
        // Idle expiry is a locked deployment's (an open one records no use of a namespace
        // the registry provisioned while it was locked, so it must not expire it either).
        let provision = match deployment.locked() {
            true => self.provision().await?,
            false => None,
        };
        if let Some(provision) = provision {
            let last = self.last_activity(&provision).await?;
            if admin::is_expired(last, provision.idle_days, day_ms, host_now().millis()) {
                self.wipe().await?;
                self.tell_registry_expired(&provision).await;
                return Response::empty();
            }
        }
        let generation = self.generation.get();
        if self.has_tables() {
            // A sweep that fails must not stop the deliveries: it is tried again next ring.
            if let Err(e) = self.send_due_milestones() {
                worker::console_error!("sending agreement milestones failed: {e}");
            }
            let caps = deployment.webhooks.clone();
            let due = {
                let mut store = self.open_store();
                let store = store.as_mut().expect("opened");
                delivery::due(store, host_now(), &caps)
                    .map_err(|e| worker::Error::RustError(e.message))?
            };
            let caps = &caps;
            // Several at once, each recorded as soon as it is answered: a slow webhook must
            // not hold back the others. A timeout starts only when its request is sent.
            let attempts = stream::iter(due.iter().map(|d| async move {
                // The policy may have narrowed since the webhook was configured.
                let outcome = match outbound::check_webhook_url(&d.url, caps) {
                    Ok(target) => send(d, &target).await,
                    Err(refused) => Err(refused),
                };
                // A wipe while it was sent leaves nothing to record the outcome in.
                let mut store = self.store.borrow_mut();
                match store.as_mut() {
                    Some(store) if self.generation.get() == generation => {
                        delivery::record(store, d, outcome, host_now(), caps)
                    }
                    _ => Ok(()),
                }
            }))
            .buffer_unordered(delivery::MAX_IN_FLIGHT)
            .collect::<Vec<_>>()
            .await;
            for recorded in attempts {
                recorded.map_err(|e| worker::Error::RustError(e.message))?;
            }
        }
        if self.generation.get() == generation {
            self.schedule_alarm().await?;
        }
        Response::empty()
    }

    /// Brings about what the namespace clock has reached (agreement milestones, automatic
    /// approvals, approval expiries, a month's usage invoicing), in one synchronous step.
    fn send_due_milestones(&self) -> Result<()> {
        let mut store = self.open_store();
        let store = store.as_mut().expect("opened");
        let failed = |e: crate::error::ServiceError| worker::Error::RustError(e.message);
        let host = host_now();
        let now = load_clock(store).map_err(failed)?.now(host);
        let settings = load_settings(store).map_err(failed)?;
        let mut ids = RandomIds::signing_in_rust();
        milestones::sweep(store, now, host, &settings, &mut ids).map_err(failed)?;
        Ok(())
    }

    /// Sets the alarm to the earliest of the next webhook delivery, the next agreement
    /// milestone while the namespace clock runs (a frozen clock reaches none: setting it
    /// sends them) and, for a provisioned namespace, its idle expiry (checked again when it
    /// rings: use moves it later).
    pub(super) async fn schedule_alarm(&self) -> Result<()> {
        let deployment = deployment(&self.env).map_err(worker::Error::RustError)?;
        let mut next = None;
        if self.has_tables() {
            let store = self.open_store();
            let store = store.as_ref().expect("opened");
            let failed = |e: crate::error::ServiceError| worker::Error::RustError(e.message);
            next = delivery::next_round(store, host_now(), &deployment.webhooks)
                .map_err(failed)?
                .map(|at| at.millis());
            let clock = load_clock(store).map_err(failed)?;
            let host = match (milestones::next(store).map_err(failed)?, clock.frozen_at) {
                // Host time is namespace time less the clock's offset.
                (Some(at), None) => Some(at.millis().saturating_sub(clock.offset_ms)),
                // A frozen clock reaches nothing new, but a sweep that stopped at its cap
                // goes on at once.
                (Some(at), Some(frozen)) if at <= frozen => Some(host_now().millis()),
                _ => None,
            };
            if let Some(host) = host {
                next = Some(next.map_or(host, |n: i64| n.min(host)));
            }
        }
        let provision = match deployment.locked() {
            true => self.provision().await?,
            false => None,
        };
        if let Some(provision) = provision {
            let last = self.last_activity(&provision).await?;
            let expiry = admin::expiry(last, provision.idle_days, deployment.idle_day_ms);
            next = Some(next.map_or(expiry, |n: i64| n.min(expiry)));
        }
        let storage = self.state.storage();
        if let Some(at) = next {
            let current = storage.get_alarm().await?;
            if current.is_none_or(|c| c > at) {
                let when = js_sys::Date::new(&(at as f64).into());
                storage.set_alarm(ScheduledTime::new(when)).await?;
            }
        }
        Ok(())
    }
}

/// POSTs one delivery to `target` (its URL as checked); `Ok(status)` for any HTTP answer,
/// a redirect included (it is not followed: it could lead anywhere), `Err` for no answer
/// in time.
async fn send(d: &DueDelivery, target: &str) -> std::result::Result<u16, String> {
    let attempt = async {
        let headers = Headers::new();
        for (name, value) in &d.headers {
            headers.set(name, value)?;
        }
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_headers(headers)
            .with_redirect(RequestRedirect::Manual)
            .with_body(Some(d.body.clone().into()));
        let request = Request::new_with_init(target, &init)?;
        let signal = AbortSignal::from(web_sys::AbortSignal::timeout_with_u32(WEBHOOK_TIMEOUT_MS));
        Fetch::Request(request).send_with_signal(&signal).await
    };
    match attempt.await {
        Ok(response) => Ok(response.status_code()),
        Err(e) => Err(format!("no answer from {}: {e}", d.url)),
    }
}
