//! The fetch entry: reads the deployment's configuration, passes every request through the
//! policy's `admit` (route, access class, body size, browser protections, credentials present), answers
//! `/_mock/ping` itself, and forwards the rest to the namespace's Durable Object or, for
//! `/_admin/…`, to the registry. It works on the runtime's own request and response objects:
//! the worker crate's wrappers would read `request.cf` and copy the headers, the body and the
//! object's response once more on the hot path of every call.

use std::pin::{pin, Pin};
use std::time::Duration;

use futures_util::future::{select, Either};
use futures_util::StreamExt;
use worker::wasm_bindgen::JsCast;
use worker::wasm_bindgen_futures::JsFuture;
use worker::{event, js_sys, web_sys, ByteStream, Context, Delay, Env, Request, Result};

use super::runtime::{
    deployment, random_uuid, to_response, NAMESPACES_BINDING, REGISTRY_BINDING, REGISTRY_NAME,
};
use crate::error::ServiceError;
use crate::policy::deployment::Deployment;
use crate::policy::guesses::WrongGuesses;
use crate::policy::routes::{Access, Endpoint, Found};
use crate::policy::{self, browser, json_error, Admitted, Head};
use crate::protocol::http::HttpResponse;
use crate::service;

/// A request that may be guessing the admin token: a bearer token that is not in the
/// control-token form (`mmct_…`, too long to guess), sent to the admin API or a namespace's
/// control API, from a client (its `CF-Connecting-IP`, at most 64 bytes).
struct Guess {
    client: String,
}

impl Guess {
    fn of(head: &Head<'_>, headers: &[(String, String)]) -> Option<Guess> {
        let routed = policy::routes::find(head.method, head.path).ok()?;
        if !matches!(routed.access, Access::Admin | Access::Namespace) {
            return None;
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let token = crate::policy::secrets::bearer(header("authorization"))?;
        if token.starts_with("mmct_") {
            return None;
        }
        let client: String = header("cf-connecting-ip")
            .unwrap_or_default()
            .chars()
            .take(64)
            .collect();
        Some(Guess { client })
    }

    fn throttled(&self, now: i64) -> Option<u64> {
        WRONG_ADMIN_TOKENS.with(|g| g.borrow().throttled(&self.client, now))
    }

    fn record_wrong(&self, now: i64) {
        WRONG_ADMIN_TOKENS.with(|g| g.borrow_mut().record(&self.client, now));
    }
}

thread_local! {
    /// This isolate's tally of wrong admin tokens per client.
    static WRONG_ADMIN_TOKENS: std::cell::RefCell<WrongGuesses> = std::cell::RefCell::new(WrongGuesses::default());
}

/// How much of a refused body is read (and dropped) before answering, so the client, still
/// sending, reads the refusal rather than a reset; past it the connection is closed.
const DRAIN_LIMIT: usize = 16 * 1024 * 1024;

/// What reading a request's body came to.
enum BodyRead {
    Whole(js_sys::Uint8Array),
    /// Over the route's limit after `seen` bytes; the rest was read and dropped up to
    /// `DRAIN_LIMIT` (`drained_all`: to its end).
    TooLarge {
        seen: usize,
        drained_all: bool,
    },
    /// The body did not end within the deployment's body timeout.
    TimedOut,
    /// The client went away (or the stream failed) before the body ended.
    Cut,
}

/// Whether the client waits for `100 Continue` before it sends its body.
fn expects_continue(head: &Head<'_>) -> bool {
    head.header("expect")
        .is_some_and(|e| e.trim().eq_ignore_ascii_case("100-continue"))
}

/// Reads a body of at most `limit` bytes within `timeout`; a longer one is drained.
async fn read_body(
    req: web_sys::Request,
    content_length: Option<usize>,
    limit: usize,
    timeout: Duration,
) -> Result<BodyRead> {
    if req.body().is_none() {
        return Ok(BodyRead::Whole(js_sys::Uint8Array::new_with_length(0)));
    }
    let mut deadline = pin!(Delay::from(timeout));
    // The common case, a declared length within the limit: the runtime reads it whole, and
    // it stays a JavaScript buffer (the object is sent the same bytes).
    if content_length.is_some_and(|n| n <= limit) {
        let whole = JsFuture::from(req.array_buffer()?);
        return Ok(match select(pin!(whole), deadline.as_mut()).await {
            Either::Left((Ok(buffer), _)) => {
                let body = js_sys::Uint8Array::new(&buffer);
                // The runtime frames the body by its declared length; checked all the same.
                let seen = body.length() as usize;
                if seen > limit {
                    BodyRead::TooLarge {
                        seen,
                        drained_all: true,
                    }
                } else {
                    BodyRead::Whole(body)
                }
            }
            Either::Left((Err(_), _)) => BodyRead::Cut,
            Either::Right(_) => BodyRead::TimedOut,
        });
    }
    let mut stream = Request::from(req).stream()?;
    let mut body = Vec::new();
    loop {
        let chunk = match select(stream.next(), deadline.as_mut()).await {
            Either::Left((Some(Ok(chunk)), _)) => chunk,
            Either::Left((Some(Err(_)), _)) => return Ok(BodyRead::Cut),
            Either::Left((None, _)) => {
                return Ok(BodyRead::Whole(js_sys::Uint8Array::from(body.as_slice())))
            }
            Either::Right(_) => return Ok(BodyRead::TimedOut),
        };
        // Checked before it is kept, so the buffer never holds more than the limit.
        if body.len() + chunk.len() > limit {
            let seen = body.len() + chunk.len();
            drop(body);
            let drained_all = drain_stream(&mut stream, seen, deadline.as_mut()).await;
            return Ok(BodyRead::TooLarge { seen, drained_all });
        }
        body.extend_from_slice(&chunk);
    }
}

/// Reads and drops a refused request's body; whether it reached the end.
async fn drain(req: web_sys::Request, timeout: Duration) -> bool {
    let Ok(mut stream) = Request::from(req).stream() else {
        return true; // no body
    };
    let deadline = pin!(Delay::from(timeout));
    drain_stream(&mut stream, 0, deadline).await
}

async fn drain_stream(
    stream: &mut ByteStream,
    mut drained: usize,
    mut deadline: Pin<&mut Delay>,
) -> bool {
    while drained < DRAIN_LIMIT {
        match select(stream.next(), deadline.as_mut()).await {
            Either::Left((Some(Ok(chunk)), _)) => drained += chunk.len(),
            Either::Left((None, _)) => return true,
            Either::Left((Some(Err(_)), _)) | Either::Right(_) => return false,
        }
    }
    false
}

/// A refusal sent before the request's body was read to its end closes the connection.
fn closing_unless(drained_all: bool, refusal: HttpResponse) -> HttpResponse {
    if drained_all {
        refusal
    } else {
        refusal.with_header("Connection", "close")
    }
}

/// The answer to a body that did not arrive in time.
fn timed_out(timeout: Duration) -> HttpResponse {
    json_error(
        408,
        format!(
            "the request body did not arrive within {} s (BODY_TIMEOUT_SECONDS)",
            timeout.as_secs()
        ),
    )
    .with_header("Connection", "close")
}

#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, _ctx: Context) -> Result<web_sys::Response> {
    if !deployment(&env).is_ok_and(|d| d.access_log) {
        return respond(req, &env).await;
    }
    // ACCESS_LOG=1: one line per call, e.g. `POST /ns/ci MeterUsage → 400 InvalidUsageDimensionException (3 ms)`.
    let started = worker::Date::now().as_millis();
    let method = req.method();
    let path = worker::Url::parse(&req.url())
        .map(|u| u.path().to_string())
        .unwrap_or_default();
    let operation = req
        .headers()
        .get("x-amz-target")?
        .and_then(|t| t.rsplit('.').next().map(str::to_string))
        .unwrap_or_default();
    let response = respond(req, &env).await?;
    let error = response
        .headers()
        .get("x-amzn-ErrorType")?
        .map(|e| format!(" {}", e.split(':').next().unwrap_or_default()))
        .unwrap_or_default();
    worker::console_log!(
        "{method} {path} {operation} → {}{error} ({} ms)",
        response.status(),
        worker::Date::now().as_millis().saturating_sub(started)
    );
    Ok(response)
}

async fn respond(req: web_sys::Request, env: &Env) -> Result<web_sys::Response> {
    let request_id = random_uuid();
    let method = req.method();
    // A page of an ALLOWED_ORIGINS origin (a dashboard elsewhere): CORS for it alone.
    let cors = deployment(env).ok().and_then(|d| {
        let origin = req.headers().get("origin").ok().flatten();
        browser::cors_origin(origin.as_deref(), &d.allowed_origins)
    });
    if let Some(origin) = &cors {
        let asked = req.headers().get("access-control-request-method")?;
        if method == "OPTIONS" && asked.is_some() {
            let wanted = req.headers().get("access-control-request-headers")?;
            let granted = browser::preflight(origin, wanted.as_deref());
            return to_response(granted).map(web_sys::Response::from);
        }
    }
    let answer = match serve(req, env, &request_id).await {
        Ok(Handled::Forwarded(response)) => {
            return match &cors {
                Some(origin) => forwarded_with_cors(response, origin),
                None => Ok(response),
            };
        }
        Ok(Handled::Answered(response)) => response,
        Err(e) => {
            worker::console_error!("request failed at the entry: {e}");
            json_error(500, "the mock failed to serve the request")
        }
    };
    let answer = if answer.header("x-amzn-RequestId").is_some() {
        answer
    } else {
        answer.with_header("x-amzn-RequestId", &request_id)
    };
    let answer = match &cors {
        Some(origin) => browser::with_cors(answer, origin),
        None => answer,
    };
    to_response(answer.for_method(&method)).map(web_sys::Response::from)
}

/// A namespace's answer with the CORS headers of `origin` (its headers cannot be changed in
/// place: a new response takes its body, status and headers).
fn forwarded_with_cors(response: web_sys::Response, origin: &str) -> Result<web_sys::Response> {
    let headers = web_sys::Headers::new_with_headers(&response.headers())?;
    for (name, value) in browser::cors_headers(origin) {
        headers.append(name, &value)?;
    }
    let init = web_sys::ResponseInit::new();
    init.set_status(response.status());
    init.set_status_text(&response.status_text());
    init.set_headers(&headers);
    Ok(web_sys::Response::new_with_opt_readable_stream_and_init(
        response.body().as_ref(),
        &init,
    )?)
}

enum Handled {
    Forwarded(web_sys::Response),
    Answered(HttpResponse),
}

async fn serve(req: web_sys::Request, env: &Env, request_id: &str) -> Result<Handled> {
    let deployment = match deployment(env) {
        Ok(d) => d,
        Err(message) => {
            worker::console_error!("misconfigured deployment: {message}");
            return Ok(Handled::Answered(json_error(
                500,
                format!("the deployment is misconfigured: {message}"),
            )));
        }
    };
    let url = worker::Url::parse(&req.url())?;
    let headers: Vec<(String, String)> = worker::Headers(req.headers()).entries().collect();
    let method = req.method();
    // A request with no body at all (fetch sends a DELETE without one, and without a
    // Content-Length) is one of length 0, not one whose length is unknown.
    let content_length = req
        .headers()
        .get("content-length")?
        .and_then(|v| v.trim().parse::<usize>().ok())
        .or_else(|| req.body().is_none().then_some(0));
    if !matches!(
        method.as_str(),
        "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS"
    ) {
        return Ok(Handled::Answered(
            json_error(405, format!("the method {method} is not served here"))
                .with_header("Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")
                .with_header("Connection", "close"),
        ));
    }
    let origin = url.origin().ascii_serialization();
    let head = Head {
        method: &method,
        path: url.path(),
        query: url.query().unwrap_or_default(),
        headers: &headers,
        origin: &origin,
        content_length,
    };
    // Admin-token guesses are throttled per client (`policy::guesses`), on the admin API and
    // on the control API of namespaces, which the admin token opens too.
    let guess = Guess::of(&head, &headers);
    let now = js_sys::Date::now() as i64;
    if let Some(retry) = guess.as_ref().and_then(|g| g.throttled(now)) {
        let answer = json_error(
            429,
            format!("too many wrong admin tokens from this client: try again in {retry} s"),
        )
        .with_header("Retry-After", &retry.to_string());
        return Ok(Handled::Answered(
            refuse(req, &head, answer, &deployment).await,
        ));
    }
    let admitted = match policy::admit(&head, &deployment, request_id) {
        Ok(admitted) => admitted,
        Err(refusal) => {
            if let Some(g) = guess.as_ref().filter(|_| refusal.status == 401) {
                g.record_wrong(now);
            }
            return Ok(Handled::Answered(
                refuse(req, &head, refusal, &deployment).await,
            ));
        }
    };
    if let Some(answer) = answer_public(&admitted.found, &head) {
        return Ok(Handled::Answered(answer));
    }
    let forwarded =
        match with_body_read(req, &url, &head, &admitted, &deployment, request_id).await? {
            Ok(forwarded) => forwarded,
            Err(refusal) => return Ok(Handled::Answered(refusal)),
        };
    let handled = forward(env, &admitted.found, &forwarded, request_id).await?;
    // A namespace's object refuses a token it does not know: a wrong guess too.
    if let (Some(g), Handled::Forwarded(response)) = (&guess, &handled) {
        if response.status() == 401 {
            g.record_wrong(now);
        }
    }
    Ok(handled)
}

/// The refusal of `admit`, sent once the body (if any) is dealt with.
async fn refuse(
    req: web_sys::Request,
    head: &Head<'_>,
    refusal: HttpResponse,
    deployment: &Deployment,
) -> HttpResponse {
    if req.body().is_none() {
        refusal
    } else if expects_continue(head) || head.content_length > Some(DRAIN_LIMIT) {
        // A client that waits for `100 Continue`, or a body longer than is ever drained, is
        // answered at once and its connection closed.
        closing_unless(false, refusal)
    } else {
        // Otherwise the body is read (and dropped) before the refusal is sent: answered
        // mid-upload, a client sees a reset connection instead of the answer, and retries.
        let drained_all = drain(req, deployment.body_timeout).await;
        closing_unless(drained_all, refusal)
    }
}

/// The answer to a public route, which holds no namespace data and is answered here; only
/// routes that need a credential reach an object, so no other path (such as the registry's
/// calls to a namespace) can be sent to one from outside.
fn answer_public(found: &Found<'_>, head: &Head<'_>) -> Option<HttpResponse> {
    match (found.access, found.endpoint()) {
        (_, Some(Endpoint::Ping)) => Some(HttpResponse::new(200, "text/plain", "pong")),
        (_, Some(Endpoint::Dashboard)) => Some(crate::ui::serve(head.path)),
        (_, Some(Endpoint::Banner)) => Some(service::banner(found.namespace.unwrap_or_default())),
        (Access::Public, _) => Some(policy::no_route(head.method, &found.path)),
        _ => None,
    }
}

/// The request to forward, its body read whole: every body (a GET's too) is read here, up
/// to the route's limit and within the body timeout, so no stream (too long, or too slow)
/// can make a Durable Object hold it or wait for it. A GET or HEAD is forwarded without its
/// body, which no route reads.
async fn with_body_read(
    req: web_sys::Request,
    url: &worker::Url,
    head: &Head<'_>,
    admitted: &Admitted<'_>,
    deployment: &Deployment,
    request_id: &str,
) -> Result<std::result::Result<web_sys::Request, HttpResponse>> {
    if req.body().is_none() {
        return Ok(Ok(req));
    }
    let timeout = deployment.body_timeout;
    let original_headers = req.headers();
    let limit = admitted.body_limit;
    Ok(
        match read_body(req, head.content_length, limit, timeout).await? {
            BodyRead::Whole(body) => {
                let init = web_sys::RequestInit::new();
                init.set_method(head.method);
                init.set_headers(&original_headers);
                if !matches!(head.method, "GET" | "HEAD") {
                    init.set_body(&body);
                }
                Ok(web_sys::Request::new_with_str_and_init(
                    url.as_str(),
                    &init,
                )?)
            }
            BodyRead::TooLarge { seen, drained_all } => {
                let refusal = policy::too_large(head, &admitted.found, seen, limit, request_id);
                Err(closing_unless(drained_all, refusal))
            }
            BodyRead::TimedOut => Err(timed_out(timeout)),
            BodyRead::Cut => {
                Err(json_error(400, "the request body was cut off")
                    .with_header("Connection", "close"))
            }
        },
    )
}

/// Sends the request to the namespace's object (or the registry's) and returns its answer.
async fn forward(
    env: &Env,
    found: &Found<'_>,
    forwarded: &web_sys::Request,
    request_id: &str,
) -> Result<Handled> {
    let (binding, object) = match (found.access, found.namespace) {
        (Access::Admin, _) | (_, None) => (REGISTRY_BINDING, REGISTRY_NAME.to_string()),
        (_, Some(namespace)) => (NAMESPACES_BINDING, namespace.to_string()),
    };
    let stub: worker::worker_sys::DurableObject = env
        .durable_object(binding)?
        .get_by_name(&object)?
        .into_rpc();
    let answered = match stub.fetch_with_request(forwarded) {
        Ok(promise) => JsFuture::from(promise)
            .await
            .and_then(|r| r.dyn_into::<web_sys::Response>()),
        Err(e) => Err(e),
    }
    .map_err(worker::Error::from);
    match answered {
        Ok(response) => Ok(Handled::Forwarded(response)),
        Err(e) if found.access == Access::Aws => {
            // Answered in the request's own protocol, so SDKs still read it as the service's.
            let error = ServiceError::internal(format!("namespace {object}: {e}"));
            let target = forwarded.headers().get("x-amz-target").ok().flatten();
            Ok(Handled::Answered(policy::aws_error(
                &found.path,
                target.as_deref(),
                &error,
                request_id,
            )))
        }
        Err(e) => {
            worker::console_error!("{object}: {e}");
            Ok(Handled::Answered(json_error(
                500,
                format!("{object} failed to answer"),
            )))
        }
    }
}
