//! The fetch entry: reads the deployment's configuration, passes every request through the
//! gate (route, access class, body size, browser protections, credentials present), answers
//! `/_mock/ping` itself, and forwards the rest to the namespace's Durable Object or, for
//! `/_admin/…`, to the registry.

use std::pin::{pin, Pin};
use std::time::Duration;

use futures_util::future::{select, Either};
use futures_util::StreamExt;
use worker::{
    event, ByteStream, Context, Delay, Env, Method, Request, RequestInit, Response, Result,
};

use super::runtime::{
    deployment, random_uuid, to_response, NAMESPACES_BINDING, REGISTRY_BINDING, REGISTRY_NAME,
};
use crate::error::ServiceError;
use crate::gate::routes::{Access, Endpoint};
use crate::gate::{self, json_error, Head};
use crate::protocol::http::HttpResponse;
use crate::service;

/// How much of a refused body is read (and dropped) before answering, so the client, still
/// sending, reads the refusal rather than a reset; past it the connection is closed.
const DRAIN_LIMIT: usize = 16 * 1024 * 1024;

/// What reading a request's body came to.
enum BodyRead {
    Whole(Vec<u8>),
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
async fn read_body(req: &mut Request, limit: usize, timeout: Duration) -> Result<BodyRead> {
    if req.inner().body().is_none() {
        return Ok(BodyRead::Whole(Vec::new()));
    }
    let mut stream = req.stream()?;
    let mut body = Vec::new();
    let mut deadline = pin!(Delay::from(timeout));
    loop {
        let chunk = match select(stream.next(), deadline.as_mut()).await {
            Either::Left((Some(Ok(chunk)), _)) => chunk,
            Either::Left((Some(Err(_)), _)) => return Ok(BodyRead::Cut),
            Either::Left((None, _)) => return Ok(BodyRead::Whole(body)),
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
async fn drain(req: &mut Request, timeout: Duration) -> bool {
    let Ok(mut stream) = req.stream() else {
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
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    if !deployment(&env).is_ok_and(|d| d.access_log) {
        return respond(req, &env).await;
    }
    // ACCESS_LOG=1: one line per call, e.g. `POST /ns/ci MeterUsage → 400 InvalidUsageDimensionException (3 ms)`.
    let started = worker::Date::now().as_millis();
    let method = req.inner().method();
    let path = req.path();
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
        response.status_code(),
        worker::Date::now().as_millis().saturating_sub(started)
    );
    Ok(response)
}

async fn respond(req: Request, env: &Env) -> Result<Response> {
    let request_id = random_uuid();
    let method = req.inner().method();
    let answer = match serve(req, env, &request_id).await {
        Ok(Handled::Forwarded(response)) => return Ok(response),
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
    to_response(answer.for_method(&method))
}

enum Handled {
    Forwarded(Response),
    Answered(HttpResponse),
}

async fn serve(mut req: Request, env: &Env, request_id: &str) -> Result<Handled> {
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
    let url = req.url()?;
    let headers: Vec<(String, String)> = req.headers().entries().collect();
    // The method as sent: the worker crate maps methods it does not know to GET.
    let method = req.inner().method();
    // A request with no body at all (fetch sends a DELETE without one, and without a
    // Content-Length) is one of length 0, not one whose length is unknown.
    let content_length = req
        .headers()
        .get("content-length")?
        .and_then(|v| v.trim().parse::<usize>().ok())
        .or_else(|| req.inner().body().is_none().then_some(0));
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
    let has_body = req.inner().body().is_some();
    let admitted = match gate::admit(&head, &deployment, request_id) {
        Ok(admitted) => admitted,
        Err(refusal) if !has_body => return Ok(Handled::Answered(refusal)),
        // A client that waits for `100 Continue`, or a body longer than is ever drained, is
        // answered at once and its connection closed.
        Err(refusal) if expects_continue(&head) || content_length > Some(DRAIN_LIMIT) => {
            return Ok(Handled::Answered(closing_unless(false, refusal)))
        }
        // Otherwise the body is read (and dropped) before the refusal is sent: answered
        // mid-upload, a client sees a reset connection instead of the answer, and retries.
        Err(refusal) => {
            let drained_all = drain(&mut req, deployment.body_timeout).await;
            return Ok(Handled::Answered(closing_unless(drained_all, refusal)));
        }
    };
    let found = &admitted.found;
    // Public routes hold no namespace data and are answered here; only routes that need a
    // credential reach an object, so no other path (such as the registry's calls to a
    // namespace) can be sent to one from outside.
    match (found.access, found.endpoint()) {
        (_, Some(Endpoint::Ping)) => {
            return Ok(Handled::Answered(HttpResponse::new(
                200,
                "text/plain",
                "pong",
            )));
        }
        (_, Some(Endpoint::Dashboard)) => {
            return Ok(Handled::Answered(crate::ui::serve(url.path())));
        }
        (_, Some(Endpoint::Banner)) => {
            let name = found.namespace.unwrap_or_default();
            return Ok(Handled::Answered(service::banner(name)));
        }
        (Access::Public, _) => {
            return Ok(Handled::Answered(gate::no_route(&method, &found.path)));
        }
        _ => {}
    }
    // Every body (a GET's too) is read here, up to the route's limit and within the body
    // timeout, so no stream (too long, or too slow) can make a Durable Object hold it or
    // wait for it. A GET or HEAD is forwarded without its body, which no route reads.
    let forwarded = if has_body {
        let timeout = deployment.body_timeout;
        match read_body(&mut req, admitted.body_limit, timeout).await? {
            BodyRead::Whole(body) => {
                let keeps_body = !matches!(method.as_str(), "GET" | "HEAD");
                let mut init = RequestInit::new();
                init.with_method(Method::from(method.clone()))
                    .with_headers(req.headers().clone())
                    .with_body(keeps_body.then(|| body.into()));
                Request::new_with_init(url.as_str(), &init)?
            }
            BodyRead::TooLarge { seen, drained_all } => {
                let refusal = gate::too_large(&head, found, seen, admitted.body_limit, request_id);
                return Ok(Handled::Answered(closing_unless(drained_all, refusal)));
            }
            BodyRead::TimedOut => return Ok(Handled::Answered(timed_out(timeout))),
            BodyRead::Cut => {
                return Ok(Handled::Answered(
                    json_error(400, "the request body was cut off")
                        .with_header("Connection", "close"),
                ))
            }
        }
    } else {
        req
    };
    let (binding, object) = match (found.access, found.namespace) {
        (Access::Admin, _) | (_, None) => (REGISTRY_BINDING, REGISTRY_NAME.to_string()),
        (_, Some(namespace)) => (NAMESPACES_BINDING, namespace.to_string()),
    };
    let stub = env
        .durable_object(binding)?
        .id_from_name(&object)?
        .get_stub()?;
    match stub.fetch_with_request(forwarded).await {
        Ok(response) => Ok(Handled::Forwarded(response)),
        Err(e) if found.access == Access::Aws => {
            // Answered in the request's own protocol, so SDKs still read it as the service's.
            let error = ServiceError::internal(format!("namespace {object}: {e}"));
            Ok(Handled::Answered(gate::aws_error(
                &found.path,
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
