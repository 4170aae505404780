//! The fetch entry: reads the deployment's configuration, passes every request through the
//! gate (route, access class, body size, browser protections, credentials present), answers
//! `/_mock/ping` itself, and forwards the rest to the namespace's Durable Object or, for
//! `/_admin/…`, to the registry.

use futures_util::StreamExt;
use worker::{event, Context, Env, Method, Request, RequestInit, Response, Result};

use super::runtime::{
    deployment, random_uuid, to_response, NAMESPACES_BINDING, REGISTRY_BINDING, REGISTRY_NAME,
};
use crate::error::ServiceError;
use crate::gate::routes::{Access, Endpoint};
use crate::gate::{self, json_error, Head};
use crate::protocol::http::HttpResponse;
use crate::service;

/// How much of an oversized body of unknown length is read (and dropped) before answering.
const DRAIN_LIMIT: usize = 16 * 1024 * 1024;

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
        return Ok(Handled::Answered(json_error(
            405,
            format!("the method {method} is not served here"),
        )));
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
    let admitted = match gate::admit(&head, &deployment, request_id) {
        Ok(admitted) => admitted,
        Err(refusal) => return Ok(Handled::Answered(refusal)),
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
    // A body without a length is read here, up to the route's limit, so no stream can make
    // a Durable Object hold more than that.
    let carries_body = !matches!(method.as_str(), "GET" | "HEAD");
    let forwarded = if content_length.is_none() && carries_body {
        let mut body = Vec::new();
        let mut stream = req.stream()?;
        while let Some(chunk) = stream.next().await {
            body.extend_from_slice(&chunk?);
            if body.len() > admitted.body_limit {
                let seen = body.len();
                drop(body);
                // The rest is read and dropped (up to a bound), so the connection ends
                // cleanly; an answer before the body is read breaks wrangler dev's proxy.
                let mut drained = seen;
                while drained < DRAIN_LIMIT {
                    match stream.next().await {
                        Some(Ok(chunk)) => drained += chunk.len(),
                        _ => break,
                    }
                }
                let refusal = gate::too_large(&head, found, seen, admitted.body_limit, request_id);
                return Ok(Handled::Answered(refusal));
            }
        }
        let mut init = RequestInit::new();
        let method = Method::from(method.clone());
        init.with_method(method)
            .with_headers(req.headers().clone())
            .with_body(Some(body.into()));
        Request::new_with_init(url.as_str(), &init)?
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
