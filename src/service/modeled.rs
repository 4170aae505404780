//! A namespace serving the services driven by their models (the Agreement Service and
//! Discovery): the same admission as the Metering front doors (signature, rate, journal), the
//! model's front door and encodings (protocol::modeled), the behaviour in ops::agreement.

use super::{journal, Attempt};
use crate::error::ServiceError;
use crate::model::error::ModelError;
use crate::model::ModelService;
use crate::namespace::Namespace;
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
            None => (
                modeled::named_operation(req, service, wire).map(|op| op.name.clone()),
                None,
            ),
        };
        let answer = answer
            .map(Dispatched::from)
            .map_err(|e| JournalError::of(&e.name, &e.message));
        let verified = attempt.verified;
        if !self.keeps_in_journal(req, &attempt) {
            return (response, verified);
        }
        let kept = journal::Kept {
            protocol: wire.name(),
            json_body: wire != Wire::RpcV2Cbor,
            operation,
            input,
            status: response.status,
            answer,
        };
        match self.keep_in_journal(req, request_id, attempt, kept) {
            Ok(()) => (response, verified),
            Err(e) => {
                let e = ModelError::of_service(service, &e);
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
        let settings = self.settings_for_call(attempt).map_err(outside)?;
        let call = modeled::admit(req, service, wire, |signed| {
            self.check_caller(req, signed, &settings, attempt)
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
            customers_per_product: self.deployment.limits.customers_per_product,
            host_now: self.host_now,
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
