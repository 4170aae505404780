//! A namespace serving the services driven by their models (the Agreement Service,
//! Discovery and the Deployment Service): the same admission as the Metering front doors
//! (signature, rate, journal), the model's front door and encodings (protocol::modeled), the
//! behaviour in ops::agreement and ops::deployment. The journal never keeps a secret: the
//! model's `sensitive` members of an input are masked before it is kept.

use serde_json::Value;

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
        let model = service.model();
        // A model with secrets has its inputs and outputs masked, which may grow them: they
        // are measured, and a refused call's text is kept only parsed and masked.
        let secrets = model.has_secrets();
        // A rest-json request's path and query carry members too.
        let path_members = req.method != "POST"
            || !req.query.is_empty()
            || modeled::named_operation(req, service, wire)
                .is_some_and(|op| op.http.request_uri.contains('{'));
        let json = wire != Wire::RpcV2Cbor;
        let bounded_by_body = json && !secrets && !path_members;
        let keep_refused_text = json && !secrets;
        let (operation, input) = match admitted {
            Some(call) => {
                let mut input = Value::Object(call.input);
                if let Some(shape) = &call.operation.input {
                    model.mask_input(&shape.shape, &mut input);
                }
                (Some(call.operation), as_object(input))
            }
            None => {
                let named = modeled::named_operation(req, service, wire);
                let mut input = None;
                if secrets {
                    let parsed = serde_json::from_slice::<Value>(&req.body).ok();
                    if let (Some(mut value), Some(shape)) =
                        (parsed, named.and_then(|op| op.input.as_ref()))
                    {
                        model.mask_input(&shape.shape, &mut value);
                        input = as_object(value);
                    }
                }
                (named, input)
            }
        };
        // The journal's copy of an output is masked too (the answer was sent as it is).
        let answer = answer.map(|mut output| {
            if let Some(shape) = operation.and_then(|op| op.output.as_ref()) {
                model.mask_secrets(&shape.shape, &mut output);
            }
            output
        });
        let operation = operation.map(|op| op.name.clone());
        let answer = answer
            .map(Dispatched::from)
            .map_err(|e| JournalError::of(&e.name, &e.message));
        let verified = attempt.verified;
        if !self.keeps_in_journal(req, &attempt) {
            return (response, verified);
        }
        let kept = journal::Kept {
            protocol: wire.name(),
            bounded_by_body,
            keep_refused_text,
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
        match service {
            ModelService::Deployment => ops::deployment::dispatch(
                call.operation,
                &call.input,
                &context,
                self.store,
                self.ids,
            ),
            _ => ops::agreement::dispatch(
                service,
                call.operation,
                &call.input,
                &context,
                self.store,
                self.ids,
            ),
        }
    }
}

fn as_object(value: Value) -> Option<serde_json::Map<String, Value>> {
    match value {
        Value::Object(map) => Some(map),
        _ => None,
    }
}
