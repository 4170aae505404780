//! One namespace as a service: turns an HTTP request into an HTTP response by routing it to
//! an AWS front door (awsJson1_1 at `/`, Smithy RPC v2 CBOR under `/service/`) and an
//! operation, or to the control API. This is what the Durable Object runs for every
//! request, and what native tests drive directly.

use serde_json::{json, Map, Value};

use crate::control;
use crate::domain::settings::Settings;
use crate::domain::time::Instant;
use crate::error::{ErrorKind, ServiceError};
use crate::namespace::{load_settings, Namespace};
use crate::ops::{self, Call, Dispatched};
use crate::policy::routes::{self, Access, Endpoint, Found, Outcome};
use crate::policy::{self, json_error};
use crate::protocol::awsjson::{self, AwsCall, Operation};
use crate::protocol::http::{HttpRequest, HttpResponse};
use crate::protocol::sigv4::{Caller, Signed};
use crate::protocol::{self, cbor};
use crate::store::{documents, Store};

mod credentials;
mod journal;
mod modeled;

pub use credentials::signing_keys_ahead;
use credentials::{authenticate, unrecognized_client, Verifier};

/// The wire protocol of an AWS request, chosen by its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FrontDoor {
    AwsJson,
    RpcV2Cbor,
}

impl FrontDoor {
    fn of(req: &HttpRequest) -> FrontDoor {
        if cbor::is_rpc_path(&req.path) {
            FrontDoor::RpcV2Cbor
        } else {
            FrontDoor::AwsJson
        }
    }

    fn admit(
        self,
        req: &HttpRequest,
        authenticate: impl FnOnce(&Signed) -> Result<(), ServiceError>,
    ) -> Result<AwsCall, ServiceError> {
        match self {
            FrontDoor::AwsJson => awsjson::admit(req, authenticate),
            FrontDoor::RpcV2Cbor => cbor::admit(req, authenticate),
        }
    }

    fn ok(
        self,
        operation: Operation,
        output: &serde_json::Value,
        request_id: &str,
    ) -> HttpResponse {
        match self {
            FrontDoor::AwsJson => awsjson::ok(output, request_id),
            FrontDoor::RpcV2Cbor => cbor::ok(operation, output, request_id),
        }
    }

    fn error(self, e: &ServiceError, request_id: &str) -> HttpResponse {
        match self {
            FrontDoor::AwsJson => awsjson::error(e, request_id),
            FrontDoor::RpcV2Cbor => cbor::error(e, request_id),
        }
    }

    /// The protocol's name in the request journal.
    fn protocol(self) -> &'static str {
        match self {
            FrontDoor::AwsJson => "awsJson1_1",
            FrontDoor::RpcV2Cbor => "rpcv2Cbor",
        }
    }
}

/// The answer to a request whose writes were rolled back because one failed, in the
/// request's protocol (`target`: its `X-Amz-Target`), with the request id the step gave it:
/// a retryable 500, or a 400 naming the `permanent` cause a retry would meet again.
pub fn rolled_back(
    method: &str,
    path: &str,
    target: Option<&str>,
    request_id: &str,
    permanent: Option<&str>,
) -> HttpResponse {
    // A failure the same request would meet again (a row over SQLite's size limit, the
    // database full) is a client error naming it, which no SDK retries; any other a 500.
    let error = match permanent {
        None => ServiceError::new(
            ErrorKind::InternalServiceErrorException,
            "The request failed and was rolled back: nothing of it was applied. Retry it.",
        ),
        Some(cause) => ServiceError::new(
            ErrorKind::ValidationException,
            format!("The request was rolled back: nothing of it was applied. The namespace's storage refused a write ({cause}); the same request would fail again."),
        ),
    };
    let aws_call = (method == "POST" && path == "/")
        || cbor::is_rpc_path(path)
        || protocol::modeled::door_of(path, target).is_some();
    if aws_call {
        policy::aws_error(path, target, &error, request_id)
    } else {
        json_error(error.status(), error.message).with_header("x-amzn-RequestId", request_id)
    }
}

/// A namespace's answer to a request, and whether the request carried its credential.
pub struct Served {
    pub response: HttpResponse,
    pub credited: bool,
}

/// `GET /` of a namespace: what the endpoint is (no namespace data).
pub fn banner(namespace: &str) -> HttpResponse {
    // Where a person who opened the URL in a browser goes next.
    let base = if namespace == crate::protocol::route::DEFAULT_NAMESPACE {
        String::new()
    } else {
        format!("/ns/{namespace}")
    };
    HttpResponse::json(
        200,
        &json!({
            "service": "metering-mock",
            "namespace": namespace,
            "dashboard": format!("{base}/_mock/ui/"),
            "health": format!("{base}/_mock/health"),
            "usage": "POST awsJson requests (X-Amz-Target: AWSMPMeteringService.<Operation>, AWSMPEntitlementService.GetEntitlements or AWSMPCommerceService_v20200301.<Operation>) to this URL, rpc-v2-cbor requests to service/<Service>/operation/<Operation> under it, Discovery's rest-json requests to 2026-02-05/<operation> and the Deployment Service's to catalogs/… and tags/… under it; the control API is under /_mock/"
        }),
    )
}

impl<S: Store + ?Sized> Namespace<'_, S> {
    /// Serves one request; every response carries `x-amzn-RequestId`. In a locked
    /// deployment the request's credential is checked first, before anything is read or
    /// written, so a namespace that was never provisioned stays without state.
    pub fn handle(&mut self, req: &HttpRequest) -> HttpResponse {
        self.serve(req).response
    }

    /// `handle`, also saying whether the request carried the namespace's credential (its
    /// control token, or a verified signature): only those count as the namespace's use.
    pub fn serve(&mut self, req: &HttpRequest) -> Served {
        let request_id = self.ids.request_id();
        let (response, credited) = match routes::find(&req.method, req.signed_path()) {
            Err(message) => (json_error(400, message), false),
            Ok(found) => match self.check_access(req, &found, &request_id) {
                Err(refusal) => (refusal, false),
                Ok(()) => {
                    let by_token =
                        found.access == Access::Namespace && !found.by_signup_link(&req.query);
                    let outcome = self
                        .check_control_rate(by_token)
                        .and_then(|()| {
                            self.ensure_initialized().map_err(|e| {
                                let target = req.header("x-amz-target");
                                match found.access {
                                    Access::Aws => {
                                        policy::aws_error(&req.path, target, &e, &request_id)
                                    }
                                    _ => FrontDoor::of(req).error(&e, &request_id),
                                }
                            })
                        })
                        .map(|()| self.route(req, found, &request_id));
                    match outcome {
                        Err(refusal) => (refusal, by_token),
                        Ok((response, signed)) => (response, by_token || signed),
                    }
                }
            },
        };
        let response = if response.header("x-amzn-RequestId").is_some() {
            response
        } else {
            response.with_header("x-amzn-RequestId", &request_id)
        };
        let response = response.for_method(&req.method);
        Served { response, credited }
    }

    /// The namespace's half of the admission (the worker entry's `admit` did the rest): its control token,
    /// and for AWS calls that it was provisioned at all (signatures are checked by the front
    /// door, which knows the protocol).
    fn check_access(
        &self,
        req: &HttpRequest,
        found: &Found<'_>,
        request_id: &str,
    ) -> Result<(), HttpResponse> {
        if !self.deployment.locked() {
            return Ok(());
        }
        match found.access {
            Access::Namespace if found.by_signup_link(&req.query) => Ok(()),
            Access::Namespace => policy::namespace_access(
                req.header("authorization"),
                self.provision,
                self.deployment,
                self.name,
            ),
            Access::Aws if self.provision.is_none() => Err(policy::aws_error(
                &req.path,
                req.header("x-amz-target"),
                &unrecognized_client(),
                request_id,
            )),
            Access::Admin => Err(json_error(
                404,
                "admin routes are not served by a namespace",
            )),
            Access::Aws | Access::Public => Ok(()),
        }
    }

    /// Control calls over the namespace's rate get 429 (AWS calls get `ThrottlingException`
    /// from their front door, after their signature was checked). Only calls with the
    /// namespace's credential (`by_token`) count, so a stranger cannot throttle a team.
    fn check_control_rate(&mut self, by_token: bool) -> Result<(), HttpResponse> {
        if !by_token {
            return Ok(());
        }
        match self.throttled() {
            None => Ok(()),
            Some(wait) => Err(json_error(
                429,
                "too many requests for this namespace (RATE_LIMIT_PER_SECOND)",
            )
            .with_header("Retry-After", &wait.to_string())),
        }
    }

    /// Takes one of the namespace's request tokens; `Some(seconds)` when there is none.
    fn throttled(&mut self) -> Option<u64> {
        let now = self.host_now.millis();
        self.rate.as_mut().and_then(|bucket| bucket.take(now).err())
    }

    /// The route's answer, and whether an AWS call's signature was verified.
    fn route(
        &mut self,
        req: &HttpRequest,
        found: Found<'_>,
        request_id: &str,
    ) -> (HttpResponse, bool) {
        let (method, path) = (req.method.as_str(), req.path.as_str());
        if found.access == Access::Aws {
            if let Some((service, wire)) = protocol::modeled::door(req) {
                return self.modeled(req, request_id, service, wire);
            }
        }
        let answer = match found.outcome {
            Outcome::Route(route, params) => match route.endpoint {
                Endpoint::AwsJson => return self.aws(req, request_id, FrontDoor::AwsJson),
                Endpoint::RpcV2Cbor => return self.aws(req, request_id, FrontDoor::RpcV2Cbor),
                Endpoint::Banner => banner(self.name),
                Endpoint::Dashboard => crate::ui::serve(req.signed_path()),
                Endpoint::Ping => HttpResponse::new(200, "text/plain", "pong"),
                // A control answer may carry a secret (a registration token, a sign-up page
                // with one): no cache keeps any of them.
                Endpoint::Control(endpoint) => control::handle(self, req, endpoint, &params)
                    .with_header("Cache-Control", "no-store"),
                Endpoint::Admin(_) => json_error(404, "admin routes are not served by a namespace"),
            },
            _ if cbor::is_rpc_path(path) => return self.aws(req, request_id, FrontDoor::RpcV2Cbor),
            Outcome::MethodNotAllowed(_) => {
                json_error(405, format!("{method} is not allowed on {path}"))
                    .with_header("Allow", &found.outcome.allow().unwrap_or_default())
            }
            Outcome::NotFound if found.access == Access::Namespace => {
                json_error(404, format!("no control endpoint {path}"))
            }
            Outcome::NotFound => policy::no_route(method, path),
        };
        (answer, false)
    }

    fn ensure_initialized(&mut self) -> Result<(), ServiceError> {
        if self.store.meta(documents::INITIALIZED)?.is_none() {
            self.initialize()?;
        }
        Ok(())
    }

    /// An AWS call's answer, and whether its signature was verified. The call is kept in
    /// the request journal (unless the namespace's settings turn it off), in the same step
    /// as what it wrote.
    fn aws(
        &mut self,
        req: &HttpRequest,
        request_id: &str,
        door: FrontDoor,
    ) -> (HttpResponse, bool) {
        let mut attempt = Attempt {
            journal_on: true,
            checks_signatures: self.deployment.locked(),
            ..Attempt::default()
        };
        let (response, answer) = match self.dispatch_aws(req, request_id, door, &mut attempt) {
            Ok((operation, dispatched)) => (
                door.ok(operation, &dispatched.output, request_id),
                Ok(dispatched),
            ),
            Err(e) => (door.error(&e, request_id), Err(e)),
        };
        let verified = attempt.verified;
        (
            self.journal_aws(req, request_id, door, attempt, response, answer),
            verified,
        )
    }

    /// Admits the call at its front door (signature, rate) and runs its operation.
    fn dispatch_aws(
        &mut self,
        req: &HttpRequest,
        request_id: &str,
        door: FrontDoor,
        attempt: &mut Attempt,
    ) -> Result<(Operation, Dispatched), ServiceError> {
        let settings = self.settings_for_call(attempt)?;
        let call = door.admit(req, |signed| {
            self.check_caller(req, signed, &settings, attempt)
        })?;
        let now = self.now()?;
        attempt.namespace_time = Some(now);
        let incarnation = self.incarnation()?;
        let context = Call {
            caller: &call.signed.caller,
            namespace: self.name,
            incarnation: &incarnation,
            now,
            settings: &settings,
            request_id,
            task_header: req.header(ops::register_usage::TASK_HEADER),
            customers_per_product: self.deployment.limits.customers_per_product,
            host_now: self.host_now,
        };
        let dispatched = ops::dispatch(call.operation, &call.input, &context, self.store, self.ids);
        attempt.admitted = Some((call.operation, call.input));
        Ok((call.operation, dispatched?))
    }

    /// Keeps the call in the request journal (`keeps_in_journal` says which) and returns its
    /// response (an error, should the journal's write fail).
    fn journal_aws(
        &mut self,
        req: &HttpRequest,
        request_id: &str,
        door: FrontDoor,
        mut attempt: Attempt,
        response: HttpResponse,
        answer: Result<Dispatched, ServiceError>,
    ) -> HttpResponse {
        if !self.keeps_in_journal(req, &attempt) {
            return response;
        }
        let (operation, input) = match attempt.admitted.take() {
            Some((operation, input)) => (Some(operation.name().to_string()), Some(input)),
            None => (journal::named_operation(req, door), None),
        };
        let kept = journal::Kept {
            protocol: door.protocol(),
            bounded_by_body: door == FrontDoor::AwsJson,
            keep_refused_text: door == FrontDoor::AwsJson,
            operation,
            input,
            status: response.status,
            answer: answer.map_err(Into::into),
        };
        match self.keep_in_journal(req, request_id, attempt, kept) {
            Ok(()) => response,
            Err(e) => door.error(&e, request_id),
        }
    }
}

impl<S: Store + ?Sized> Namespace<'_, S> {
    /// Whether a call goes in the request journal: only calls an SDK could have made, with an
    /// `Authorization` header (which a page of another origin cannot send without the mock's
    /// consent), and in a locked deployment with a verified signature, so no stranger can
    /// write the journal or push a team's entries out of it.
    fn keeps_in_journal(&self, req: &HttpRequest, attempt: &Attempt) -> bool {
        attempt.journal_on
            && req.header("authorization").is_some()
            && (attempt.verified || !self.deployment.locked())
    }

    /// Appends the call's journal entry. Like any failed write, a failure here fails the
    /// whole call (and the host rolls the step back), so no answer says a call succeeded
    /// whose writes were not kept.
    fn keep_in_journal(
        &mut self,
        req: &HttpRequest,
        request_id: &str,
        attempt: Attempt,
        kept: journal::Kept,
    ) -> Result<(), ServiceError> {
        let entry = journal::entry(journal::Call {
            req,
            request_id,
            received_at: self.host_now,
            namespace_time: attempt.namespace_time,
            caller: attempt.caller,
            // Admitted is not verified where signatures are not checked at all.
            verified: attempt.verified && attempt.checks_signatures,
            kept,
        });
        self.store.append_journal(&entry)?;
        Ok(())
    }

    /// Loads the namespace's settings for an AWS call, noting in `attempt` whether the call
    /// is journaled and whether signatures are checked.
    fn settings_for_call(&mut self, attempt: &mut Attempt) -> Result<Settings, ServiceError> {
        let settings = load_settings(self.store)?;
        attempt.journal_on = settings.request_journal;
        attempt.checks_signatures |= !settings.signature_credentials.is_empty();
        Ok(settings)
    }

    /// The caller's half of an AWS call's admission, once its signature was read: the
    /// signature checked where the namespace checks them, then the request rate.
    fn check_caller(
        &mut self,
        req: &HttpRequest,
        signed: &Signed,
        settings: &Settings,
        attempt: &mut Attempt,
    ) -> Result<(), ServiceError> {
        attempt.caller = Some(signed.caller.clone());
        let verifier = Verifier {
            settings,
            provision: self.provision,
            locked_at: self.deployment.locked().then_some(self.host_now),
        };
        authenticate(req, signed, &verifier)?;
        attempt.verified = true;
        match self.throttled() {
            None => Ok(()),
            Some(_) => Err(ServiceError::new(
                ErrorKind::ThrottlingException,
                "Rate exceeded",
            )),
        }
    }
}

/// What `aws()` learns of a call on its way, for the call's journal entry.
#[derive(Default)]
struct Attempt {
    journal_on: bool,
    checks_signatures: bool,
    /// The signature's caller, once the signature could be read.
    caller: Option<Caller>,
    verified: bool,
    namespace_time: Option<Instant>,
    /// The operation and its decoded input, once the front door admitted the call.
    admitted: Option<(Operation, Map<String, Value>)>,
}
