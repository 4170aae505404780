//! A namespace serving the services driven by their models (the Agreement Service and
//! Discovery): the same admission as the Metering front doors (signature, rate, journal), the
//! model's front door and encodings (protocol::modeled), the behaviour in ops::agreement.

use super::credentials::authenticate;
use super::{journal, Attempt, Verifier};
use crate::error::{ErrorKind, ServiceError};
use crate::model::error::ModelError;
use crate::model::ModelService;
use crate::namespace::{load_settings, Namespace};
use crate::ops::{self, Call, Dispatched};
use crate::protocol::http::{HttpRequest, HttpResponse};
use crate::protocol::modeled::{self, ModelCall, Wire};
use crate::store::journal::JournalError;
use crate::store::Store;

impl<S: Store + ?Sized> Namespace<'_, S> {
    /// A model-served call's answer, and whether its signature was verified; kept in the
    /// request journal like the Metering calls.
    pub(super) fn modeled(
        &mut self,
        req: &HttpRequest,
        request_id: &str,
        service: ModelService,
        wire: Wire,
    ) -> (HttpResponse, bool) {
        let mut attempt = Attempt {
            journal_on: true,
            checks_signatures: self.deployment.locked(),
            ..Attempt::default()
        };
        let mut admitted = None;
        let answer = self.run_modeled(req, request_id, service, wire, &mut attempt, &mut admitted);
        let response = match &answer {
            Ok(output) => {
                let operation = admitted.as_ref().map(|c: &ModelCall| c.operation);
                modeled::ok(service, operation, wire, output, request_id)
            }
            Err(e) => modeled::error(service, wire, e, request_id),
        };
        let (operation, input) = match admitted {
            Some(call) => (Some(call.operation.name.clone()), Some(call.input)),
            None => (None, None),
        };
        let answer = answer
            .map(Dispatched::from)
            .map_err(|e| JournalError::of(&e.name, &e.message));
        let verified = attempt.verified;
        if !self.keeps_in_journal(req, &attempt) {
            return (response, verified);
        }
        let entry = journal::entry(journal::Call {
            req,
            request_id,
            protocol: wire.name(),
            json_body: wire != Wire::RpcV2Cbor,
            received_at: self.host_now,
            namespace_time: attempt.namespace_time,
            caller: attempt.caller,
            verified: attempt.verified && attempt.checks_signatures,
            operation,
            input,
            status: response.status,
            answer,
        });
        // As for the Metering calls: a journal write that fails fails the call.
        match self.store.append_journal(&entry) {
            Ok(_) => (response, verified),
            Err(e) => {
                let e = ModelError::of_service(service, &e.into());
                (modeled::error(service, wire, &e, request_id), verified)
            }
        }
    }

    /// Admits the call (signature, rate, model) into `admitted` and runs its operation.
    fn run_modeled(
        &mut self,
        req: &HttpRequest,
        request_id: &str,
        service: ModelService,
        wire: Wire,
        attempt: &mut Attempt,
        admitted: &mut Option<ModelCall>,
    ) -> Result<serde_json::Value, ModelError> {
        let outside = |e: ServiceError| ModelError::of_service(service, &e);
        let settings = load_settings(self.store).map_err(outside)?;
        attempt.journal_on = settings.request_journal;
        attempt.checks_signatures |= !settings.signature_credentials.is_empty();
        let verifier = Verifier {
            settings: &settings,
            provision: self.provision,
            locked_at: self.deployment.locked().then_some(self.host_now),
        };
        let call = modeled::admit(req, service, wire, |signed| {
            attempt.caller = Some(signed.caller.clone());
            authenticate(req, signed, &verifier)?;
            attempt.verified = true;
            match self.throttled() {
                None => Ok(()),
                Some(_) => Err(ServiceError::new(
                    ErrorKind::ThrottlingException,
                    "Rate exceeded",
                )),
            }
        })?;
        let now = self.now().map_err(outside)?;
        attempt.namespace_time = Some(now);
        let incarnation = self.incarnation().map_err(outside)?;
        let call = admitted.insert(call);
        let context = Call {
            caller: &call.signed.caller,
            namespace: self.name,
            incarnation: &incarnation,
            now,
            settings: &settings,
            request_id,
            task_header: None,
        };
        ops::agreement::dispatch(
            service,
            call.operation,
            &call.input,
            &context,
            self.store,
            self.ids,
        )
    }
}
